// The connect ramp: sockets opened at --connect-rate (open loop: connect i is due at start +
// i / rate, however long the others took), at most MAX_IN_FLIGHT handshakes at once, each bounded
// by CONNECT_TIMEOUT_MS, the whole ramp by the run's deadline. Each socket is the benchmark's
// (bench/client/state.ts: its frame reading, its automatic pong) and joins the run's room.
// Only here and not through bench/client/connect.ts: that one has no CA, address or status hooks.
import type { ClientRequestArgs } from 'node:http';
import { isIP, type LookupFunction } from 'node:net';
import tls from 'node:tls';
import { WebSocket, type ClientOptions } from 'ws';
import { clock, onWsClose, onWsMessage, sleep, state, type Conn } from '../bench/client/state.ts';
import { Fatal, errorName, hint } from './fail.ts';
import { count, type RunClock, type Tally } from './types.ts';

export const CONNECT_TIMEOUT_MS = 10_000;
/** However far the ramp falls behind its schedule, no more handshakes than this at once. */
const MAX_IN_FLIGHT = 200;

export interface Target {
  url: string;
  room: string;
  token: string | undefined;
  /** Extra CA (PEM), trusted with the default ones. */
  ca: string | undefined;
  /** An address to connect to instead of the URL host's. */
  resolve: string | undefined;
}

interface Failure {
  /** How the summary counts it: "HTTP 401", "ECONNREFUSED", "timeout", "close 1008 ...". */
  what: string;
  /** The error, when the failure happened below HTTP (nothing answered, TLS, DNS). */
  network?: Error;
}

type WsOptions = ClientOptions & Pick<ClientRequestArgs, 'lookup'>;

function fixedLookup(address: string): LookupFunction {
  const family = isIP(address);
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

function wsOptions(t: Target): WsOptions {
  return {
    perMessageDeflate: false,
    // A redirect (http:// to https://, say) is an answer to report, not one to follow.
    followRedirects: false,
    // The header, never the access_token query parameter: proxies log URLs.
    ...(t.token !== undefined ? { headers: { authorization: `Bearer ${t.token}` } } : {}),
    // `ca` replaces the default list, so the default list (NODE_EXTRA_CA_CERTS included) is kept in it.
    ...(t.ca !== undefined ? { ca: [...tls.getCACertificates('default'), t.ca] } : {}),
    ...(t.resolve !== undefined ? { lookup: fixedLookup(t.resolve) } : {}),
  };
}

/** Connections waiting for their join's answer, with what settles them (join refusals come as error frames). */
const joining = new Map<Conn, (failure?: Failure) => void>();

function onJoinAnswer(conn: Conn, data: Buffer): void {
  const settle = joining.get(conn);
  if (!settle || !data.includes('"type":"error"')) return;
  const reason = /"reason":"([^"]*)"/.exec(data.toString())?.[1] ?? 'error';
  settle({ what: `join refused: ${reason}` });
}

function openOne(t: Target, options: WsOptions, index: number, tally: Tally, run: RunClock): Promise<Failure | undefined> {
  const conn: Conn = { index, welcomes: 0, open: false };
  const started = clock();
  let upgraded = false;
  let joined = false;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (failure?: Failure): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      joining.delete(conn);
      state.joinWaiters.delete(conn);
      state.joinRooms.delete(conn);
      if (failure) ws.terminate();
      else {
        joined = true;
        conn.open = true;
        state.conns.push(conn);
        tally.opened++;
        tally.open++;
      }
      resolve(failure);
    };
    const timer = setTimeout(
      () => settle(upgraded ? { what: 'join timeout' } : { what: 'timeout', network: new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`) }),
      CONNECT_TIMEOUT_MS,
    );
    const ws = new WebSocket(t.url, options) as WebSocket & { conn: Conn };
    ws.conn = conn;
    conn.ws = ws;
    ws.on('message', onWsMessage as (this: WebSocket, data: Buffer, isBinary: boolean) => void);
    ws.on('close', onWsClose as (this: WebSocket) => void);
    ws.on('close', (code: number, reason: Buffer) => {
      const what = `close ${code}${reason.length ? ` ${reason.toString()}` : ''}`;
      if (!settled) return settle({ what });
      if (!joined) return;
      tally.open--;
      if (run.closing) return;
      tally.closed++;
      count(tally.errors, what);
    });
    // Stays on for the socket's life: after the open, an error is followed by a close, counted there.
    ws.on('error', (err: Error) => settle({ what: errorName(err), network: err }));
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      settle({ what: `HTTP ${res.statusCode ?? '?'}` });
    });
    ws.once('open', () => {
      upgraded = true;
      tally.handshake.recordValue(Math.max(1, Math.round((clock() - started) * 1000)));
      // Open once in the room: the welcome of the room joined answers the join (bench/client/state.ts),
      // whether or not the lobby's came first (with Redis a quick join supersedes it).
      joining.set(conn, settle);
      state.joinRooms.set(conn, t.room);
      state.joinWaiters.set(conn, () => settle());
      ws.send(JSON.stringify({ type: 'join', room: t.room, name: `lt${index}` }));
    });
  });
}

function record(tally: Tally, failure: Failure | undefined): void {
  tally.attempted++;
  if (!failure) return;
  tally.failed++;
  count(tally.errors, failure.what);
}

/**
 * Opens `tally.requested` sockets. The first one alone: when nothing answers it (refused, DNS,
 * TLS, timeout), the run stops with a Fatal saying so instead of counting the same failure N times.
 */
export async function ramp(t: Target, connectRate: number, tally: Tally, run: RunClock): Promise<void> {
  const options = wsOptions(t);
  state.onOther = onJoinAnswer;
  const start = clock();
  const probe = await openOne(t, options, 0, tally, run);
  if (probe?.network) {
    const code = (probe.network as NodeJS.ErrnoException).code;
    const detail = code && !probe.network.message.includes(code) ? `${probe.network.message} [${code}]` : probe.network.message;
    throw new Fatal(`cannot connect to ${t.url}: ${detail}${hint(probe.network)}`);
  }
  record(tally, probe);
  const interval = 1000 / connectRate;
  let next = 1;
  const worker = async (): Promise<void> => {
    while (next < tally.requested && clock() < run.deadline) {
      const i = next++;
      await sleep(Math.min(start + i * interval, run.deadline) - clock());
      if (clock() >= run.deadline) break;
      record(tally, await openOne(t, options, i, tally, run));
    }
  };
  await Promise.all(Array.from({ length: Math.min(MAX_IN_FLIGHT, tally.requested - 1) }, worker));
  tally.rampMs = clock() - start;
  state.onOther = undefined;
}

/** Closes every socket with 1000 and waits for the closes, bounded; those still open are cut. */
export async function closeAll(run: RunClock, timeoutMs = 2000): Promise<void> {
  run.closing = true;
  for (const conn of state.conns) {
    conn.open = false;
    conn.ws?.close(1000, 'load test done');
  }
  const deadline = clock() + timeoutMs;
  while (clock() < deadline && state.conns.some((c) => c.ws && c.ws.readyState !== WebSocket.CLOSED)) await sleep(20);
  for (const conn of state.conns) conn.ws?.terminate();
}
