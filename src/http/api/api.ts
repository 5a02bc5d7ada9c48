// The server API, for the application's own backend: publish into a room, read its presence and
// history, disconnect a user everywhere. `Authorization: Bearer <API_KEY>`, JSON in and out,
// described in docs/openapi.yaml (the tests validate real responses against it). Every call goes
// through the broker, so it works the same on every instance when Redis is on.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, type Registry } from 'prom-client';
import type { Broker } from '../../broker/broker.ts';
import type { Clock } from '../../clock.ts';
import type { Logger } from '../../log/logger.ts';
import { parseId } from '../../protocol/ids.ts';
import { NAME_MAX, ROOM_PATTERN, TEXT_MAX } from '../../protocol/limits.ts';
import { isValidName, isValidText } from '../../protocol/text.ts';
import { json } from '../respond.ts';
import { readJsonObject } from './body.ts';
import { createKeyCheck } from './key.ts';
import { createRateLimiter } from './limiter.ts';

export type ApiHandler = (req: IncomingMessage, res: ServerResponse, path: string) => void;

export interface ApiOptions {
  apiKey: string;
  broker: Broker;
  logger: Logger;
  clock: Clock;
  registry: Registry;
  rateLimitPerSec: number;
  /** Identity mode: presence lists members' sub and name. */
  identityMode: boolean;
  /** The client's address (honours TRUST_PROXY), the rate limit's key. */
  clientAddress(req: IncomingMessage): string;
}

type Route = 'publish' | 'presence' | 'history' | 'disconnect';
type Outcome = { status: number; body: unknown; headers?: Record<string, string> };

const ROUTES: readonly { route: Route; method: string; pattern: RegExp }[] = [
  { route: 'publish', method: 'POST', pattern: /^\/api\/rooms\/([^/]*)\/messages$/ },
  { route: 'presence', method: 'GET', pattern: /^\/api\/rooms\/([^/]*)\/presence$/ },
  { route: 'history', method: 'GET', pattern: /^\/api\/rooms\/([^/]*)\/history$/ },
  { route: 'disconnect', method: 'DELETE', pattern: /^\/api\/users\/([^/]*)\/connections$/ },
];
const SUB_MAX = 255;

const bad = (reason: string): Outcome => ({ status: 400, body: { error: 'bad_request', reason } });
const unavailable = (err: unknown): Outcome => ({ status: 503, body: { error: 'unavailable', reason: err instanceof Error ? err.message : 'broker unavailable' } });

function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

export function createApi(options: ApiOptions): ApiHandler {
  const { broker, logger, clock } = options;
  const keyMatches = createKeyCheck(options.apiKey);
  const allow = createRateLimiter(options.rateLimitPerSec, () => clock.now());
  const requests = new Counter({ name: 'ws_api_requests_total', help: 'Server API requests by route and status', labelNames: ['route', 'status'], registers: [options.registry] });

  async function publish(req: IncomingMessage, room: string): Promise<Outcome> {
    const body = await readJsonObject(req);
    if (!body.ok) return bad(body.reason);
    const { text, from } = body.value;
    if (typeof text !== 'string' || !isValidText(text, TEXT_MAX)) return bad(`text must be 1-${TEXT_MAX} characters without control characters`);
    if (from !== undefined && (typeof from !== 'string' || !isValidName(from, NAME_MAX))) return bad(`from must be a display name of 1-${NAME_MAX} printable characters`);
    try {
      const message = await broker.publish({ room, from: from ?? 'server', text, ts: Math.round(clock.now()), sender: 'server' });
      return { status: 201, body: { id: message.id } };
    } catch (err) {
      return unavailable(err);
    }
  }

  async function presence(room: string): Promise<Outcome> {
    try {
      const roster = await broker.members(room);
      return { status: 200, body: options.identityMode ? { room, count: roster.count, members: roster.members, truncated: roster.truncated } : { room, count: roster.count } };
    } catch (err) {
      return unavailable(err);
    }
  }

  async function history(req: IncomingMessage, room: string): Promise<Outcome> {
    const since = new URL(req.url ?? '/', 'http://x').searchParams.get('since') ?? '0';
    if (!parseId(since)) return bad('since must be a message id');
    try {
      const h = await broker.history(room, since);
      return { status: 200, body: { room, since, truncated: h.truncated, messages: h.messages } };
    } catch (err) {
      return unavailable(err);
    }
  }

  async function disconnect(sub: string): Promise<Outcome> {
    try {
      await broker.disconnect(sub);
      return { status: 202, body: { sub, requested: true } };
    } catch (err) {
      return unavailable(err);
    }
  }

  async function answer(req: IncomingMessage, path: string): Promise<{ route: string; outcome: Outcome }> {
    const found = ROUTES.find((r) => r.pattern.test(path));
    if (!found) return { route: 'unknown', outcome: { status: 404, body: { error: 'not_found', reason: 'no such API route' } } };
    const { route } = found;
    if (!allow(options.clientAddress(req))) return { route, outcome: { status: 429, body: { error: 'rate_limited', reason: 'too many requests' }, headers: { 'Retry-After': '1' } } };
    if (!keyMatches(req)) return { route, outcome: { status: 401, body: { error: 'unauthorized', reason: 'Authorization: Bearer <API_KEY> missing or wrong' }, headers: { 'WWW-Authenticate': 'Bearer' } } };
    if (req.method !== found.method) return { route, outcome: { status: 405, body: { error: 'method_not_allowed', reason: `${route} takes ${found.method}` }, headers: { Allow: found.method } } };
    const param = decoded(found.pattern.exec(path)?.[1] ?? '');
    if (route === 'disconnect') {
      if (param === undefined || param === '' || param.length > SUB_MAX || /\p{Cc}/u.test(param)) return { route, outcome: bad('sub must be 1-255 characters') };
      return { route, outcome: await disconnect(param) };
    }
    if (param === undefined || !ROOM_PATTERN.test(param)) return { route, outcome: bad('room must be 1-64 of A-Z a-z 0-9 _ -') };
    if (route === 'publish') return { route, outcome: await publish(req, param) };
    if (route === 'presence') return { route, outcome: await presence(param) };
    return { route, outcome: await history(req, param) };
  }

  return (req, res, path) => {
    const started = performance.now();
    void answer(req, path).then(({ route, outcome }) => {
      requests.labels(route, String(outcome.status)).inc();
      const line = { method: req.method, route, status: outcome.status, ms: Math.round(performance.now() - started) };
      if (outcome.status >= 400) logger.warn({ ...line, reason: (outcome.body as { reason?: string }).reason }, 'api request refused');
      else logger.info(line, 'api request');
      json(res, outcome.status, outcome.body, outcome.headers);
    });
  };
}
