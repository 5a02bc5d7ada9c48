// The server API, for the application's own backend: publish into a room, read its presence and
// history; reach a user: a message on their personal channel, a room they follow or no longer
// follow, a disconnect everywhere. `Authorization: Bearer <API_KEY>`, JSON in and out,
// described in docs/openapi.yaml (the tests validate real responses against it). Every call goes
// through the broker, so it works the same on every instance when Redis is on.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Broker } from '../../broker/broker.ts';
import type { Clock } from '../../clock.ts';
import type { EventLog } from '../../events/log.ts';
import type { Logger } from '../../log/logger.ts';
import { rateLimitedWarn } from '../../log/rate-limited.ts';
import type { Metrics } from '../../metrics/metrics.ts';
import { CONTROL, encodeUserControl } from '../../protocol/control.ts';
import { parseId } from '../../protocol/ids.ts';
import { NAME_MAX, ROOM_PATTERN, SUB_MAX, TEXT_MAX } from '../../protocol/limits.ts';
import { personalRoom } from '../../protocol/rooms.ts';
import { isValidName, isValidSub, isValidText } from '../../protocol/text.ts';
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
  metrics: Pick<Metrics, 'apiRequest'>;
  rateLimitPerSec: number;
  /** Identity mode: presence lists members' sub and name. */
  identityMode: boolean;
  /** The client's address (honours TRUST_PROXY), the rate limit's key. */
  clientAddress(req: IncomingMessage): string;
  /** REFUSAL_LOG_PER_SEC: refused calls (401, 429, 400...) are warned about at most this often; all are counted. */
  refusalLogPerSec: number;
  /** The backend's events (EVENTS): a stored publication is `message.published` with sender `server`. Default: none. */
  events?: Pick<EventLog, 'published'>;
}

type Route = 'publish' | 'presence' | 'history' | 'disconnect' | 'user_message' | 'user_subscribe' | 'user_unsubscribe';
type Outcome = { status: number; body: unknown; headers?: Record<string, string> };
const RATE_LIMITED: Outcome = { status: 429, body: { error: 'rate_limited', reason: 'too many requests' }, headers: { 'Retry-After': '1' } };
/** What a path names: a room, or a user (and a room of theirs). */
type Target = { room: string; sub: string };

const ROOM = '([^/]*)';
const ROUTES: readonly { route: Route; method: string; pattern: RegExp; user: boolean }[] = [
  { route: 'publish', method: 'POST', pattern: new RegExp(`^/api/rooms/${ROOM}/messages$`), user: false },
  { route: 'presence', method: 'GET', pattern: new RegExp(`^/api/rooms/${ROOM}/presence$`), user: false },
  { route: 'history', method: 'GET', pattern: new RegExp(`^/api/rooms/${ROOM}/history$`), user: false },
  { route: 'disconnect', method: 'DELETE', pattern: /^\/api\/users\/([^/]*)\/connections$/, user: true },
  { route: 'user_message', method: 'POST', pattern: /^\/api\/users\/([^/]*)\/messages$/, user: true },
  { route: 'user_subscribe', method: 'PUT', pattern: /^\/api\/users\/([^/]*)\/rooms\/([^/]*)$/, user: true },
  { route: 'user_unsubscribe', method: 'DELETE', pattern: /^\/api\/users\/([^/]*)\/rooms\/([^/]*)$/, user: true },
];
/** Routes that reach a user's sockets need identity mode: anonymous sockets belong to no one. */
const NEEDS_IDENTITY: ReadonlySet<Route> = new Set(['user_message', 'user_subscribe', 'user_unsubscribe']);
const BAD_ROOM = 'room must be 1-64 of A-Z a-z 0-9 _ -';
const BAD_SUB = `sub must be 1-${SUB_MAX} characters without control characters`;

const bad = (reason: string): Outcome => ({ status: 400, body: { error: 'bad_request', reason } });
/** The cause is logged; the caller learns only that the broker could not do it now, never an internal message. */
const UNAVAILABLE: Outcome = { status: 503, body: { error: 'unavailable', reason: 'broker unavailable, try again' }, headers: { 'Retry-After': '1' } };

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
  // Calls with a wrong or missing key have a budget of their own, at the same rate: guessing is
  // slowed, and keyless clients sharing the backend's address (NAT, a proxy without TRUST_PROXY)
  // cannot spend the backend's budget.
  const allowBadKey = createRateLimiter(options.rateLimitPerSec, () => clock.now());

  function unavailable(err: unknown, route: Route): Outcome {
    logger.warn({ err, route }, 'api call failed in the broker');
    return UNAVAILABLE;
  }

  async function publish(req: IncomingMessage, room: string, route: Route): Promise<Outcome> {
    const body = await readJsonObject(req);
    if (!body.ok) return bad(body.reason);
    const { text, from } = body.value;
    if (typeof text !== 'string' || !isValidText(text, TEXT_MAX)) return bad(`text must be 1-${TEXT_MAX} characters without control characters`);
    if (from !== undefined && (typeof from !== 'string' || !isValidName(from, NAME_MAX))) return bad(`from must be a display name of 1-${NAME_MAX} printable characters`);
    try {
      const { message } = await broker.publish({ room, from: from ?? 'server', text, ts: Math.round(clock.now()), sender: 'server' });
      // Room names here never name a personal channel (ROOM_PATTERN): messages to a user make no room event.
      options.events?.published({ room, messageId: message.id, from: message.from, text }, undefined);
      return { status: 201, body: { id: message.id } };
    } catch (err) {
      return unavailable(err, route);
    }
  }

  async function presence(room: string): Promise<Outcome> {
    try {
      const roster = await broker.members(room);
      return { status: 200, body: options.identityMode ? { room, count: roster.count, members: roster.members, truncated: roster.truncated } : { room, count: roster.count } };
    } catch (err) {
      return unavailable(err, 'presence');
    }
  }

  async function history(req: IncomingMessage, room: string): Promise<Outcome> {
    const since = new URL(req.url ?? '/', 'http://x').searchParams.get('since') ?? '0';
    if (!parseId(since)) return bad('since must be a message id');
    try {
      const h = await broker.history(room, since);
      return { status: 200, body: { room, since, truncated: h.truncated, messages: h.messages } };
    } catch (err) {
      return unavailable(err, 'history');
    }
  }

  /** A control event every instance acts on for its own sockets of `sub`: 202 once it is sent. */
  async function control(route: Route, kind: string, target: Target, withRoom: boolean): Promise<Outcome> {
    try {
      await broker.control(kind, encodeUserControl(withRoom ? target : { sub: target.sub }));
      return { status: 202, body: withRoom ? { sub: target.sub, room: target.room, requested: true } : { sub: target.sub, requested: true } };
    } catch (err) {
      return unavailable(err, route);
    }
  }

  /** The path's parameters, decoded and checked: a room, or a user and (for their rooms) a room. */
  function targetOf(route: Route, match: RegExpExecArray): Target | Outcome {
    const first = decoded(match[1] ?? '');
    const user = ROUTES.find((r) => r.route === route)?.user === true;
    if (!user) return first !== undefined && ROOM_PATTERN.test(first) ? { room: first, sub: '' } : bad(BAD_ROOM);
    if (first === undefined || !isValidSub(first, SUB_MAX)) return bad(BAD_SUB);
    if (match[2] === undefined) return { room: personalRoom(first), sub: first };
    const room = decoded(match[2]);
    return room !== undefined && ROOM_PATTERN.test(room) ? { room, sub: first } : bad(BAD_ROOM);
  }

  async function call(route: Route, req: IncomingMessage, target: Target): Promise<Outcome> {
    switch (route) {
      case 'publish':
      case 'user_message':
        return publish(req, target.room, route);
      case 'presence':
        return presence(target.room);
      case 'history':
        return history(req, target.room);
      case 'disconnect':
        return control(route, CONTROL.disconnect, target, false);
      case 'user_subscribe':
        return control(route, CONTROL.subscribe, target, true);
      case 'user_unsubscribe':
        return control(route, CONTROL.unsubscribe, target, true);
    }
  }

  async function answer(req: IncomingMessage, path: string): Promise<{ route: string; outcome: Outcome }> {
    const matching = ROUTES.filter((r) => r.pattern.test(path));
    const first = matching[0];
    if (!first) return { route: 'unknown', outcome: { status: 404, body: { error: 'not_found', reason: 'no such API route' } } };
    const found = matching.find((r) => r.method === req.method) ?? first;
    const { route } = found;
    const address = options.clientAddress(req);
    if (!keyMatches(req)) {
      if (!allowBadKey(address)) return { route, outcome: RATE_LIMITED };
      return { route, outcome: { status: 401, body: { error: 'unauthorized', reason: 'Authorization: Bearer <API_KEY> missing or wrong' }, headers: { 'WWW-Authenticate': 'Bearer' } } };
    }
    if (!allow(address)) return { route, outcome: RATE_LIMITED };
    if (req.method !== found.method) {
      const allowed = matching.map((r) => r.method).join(', ');
      return { route, outcome: { status: 405, body: { error: 'method_not_allowed', reason: `this path takes ${allowed}` }, headers: { Allow: allowed } } };
    }
    if (NEEDS_IDENTITY.has(route) && !options.identityMode) return { route, outcome: { status: 404, body: { error: 'not_found', reason: 'users exist only in identity mode (AUTH_JWT_SECRET or AUTH_JWKS_URL)' } } };
    const target = targetOf(route, found.pattern.exec(path) as RegExpExecArray);
    if ('status' in target) return { route, outcome: target };
    return { route, outcome: await call(route, req, target) };
  }

  // Keyless or bad calls cost a caller nothing to send: their warnings must not fill the disk.
  const warnRefused = rateLimitedWarn(logger, options.refusalLogPerSec);

  return (req, res, path) => {
    const started = performance.now();
    void answer(req, path).then(({ route, outcome }) => {
      // The body deadline answered 408 (counted and logged as a refused request) before the body came.
      if (res.headersSent) return;
      options.metrics.apiRequest(route, outcome.status);
      const line = { method: req.method, route, status: outcome.status, ms: Math.round(performance.now() - started) };
      if (outcome.status >= 400) warnRefused({ ...line, reason: (outcome.body as { reason?: string }).reason }, 'api request refused');
      else logger.info(line, 'api request');
      json(res, outcome.status, outcome.body, outcome.headers);
    });
  };
}
