// Post-deploy smoke check: exercise a live Socketship the way a user's browser would.
//
//   npm run smoke -- https://<app>.azurewebsites.net [--wait 300] [--timeout 10000]
//
// Checks /healthz and /readyz, the TLS certificate (https), that the proxy in front passes
// the WebSocket upgrade (101), a ping/pong exchange with its round-trip time, and a chat
// echo. Prints a short report; exits 0 when every check passes, 1 when one fails, 2 on
// bad usage. To trust a private CA (a local TLS stack), set NODE_EXTRA_CA_CERTS.
import { connect as tlsConnect } from 'node:tls';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { isRecord } from '../src/protocol/guards.ts';

interface Options {
  base: URL;
  wsPath: string;
  timeoutMs: number;
  waitMs: number;
  pings: number;
  minCertDays: number;
}

interface Result {
  name: string;
  ok: boolean;
  detail: string;
}

const USAGE = `Usage: npm run smoke -- <url> [options]

  <url>               http(s)://host[:port] of the deployment (e.g. the APP_URL output)
  --ws-path <path>    WebSocket path (default /ws)
  --timeout <ms>      time limit of each check (default 10000)
  --wait <seconds>    keep retrying /healthz this long before checking (default 0)
  --pings <n>         server pings to answer (default 2)
  --min-cert-days <n> fail when the TLS certificate expires sooner (default 7)
`;

class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') throw new UsageError('');
    if (arg.startsWith('--')) {
      const [key, inline] = arg.slice(2).split('=', 2);
      const value = inline ?? argv[++i];
      if (key === undefined || value === undefined) throw new UsageError(`${arg} needs a value`);
      flags.set(key, value);
    } else positional.push(arg);
  }
  if (positional.length !== 1) throw new UsageError('give exactly one URL');
  let base: URL;
  try {
    base = new URL(positional[0] ?? '');
  } catch {
    throw new UsageError(`not a URL: ${positional[0] ?? ''}`);
  }
  if (base.protocol === 'ws:') base.protocol = 'http:';
  if (base.protocol === 'wss:') base.protocol = 'https:';
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new UsageError(`unsupported scheme ${base.protocol}`);
  const number = (key: string, fallback: number): number => {
    const raw = flags.get(key);
    flags.delete(key);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${key} must be a non-negative number`);
    return n;
  };
  const wsPath = flags.get('ws-path') ?? '/ws';
  flags.delete('ws-path');
  const options: Options = {
    base,
    wsPath: wsPath.startsWith('/') ? wsPath : `/${wsPath}`,
    timeoutMs: number('timeout', 10_000),
    waitMs: number('wait', 0) * 1000,
    pings: Math.max(1, Math.floor(number('pings', 2))),
    minCertDays: number('min-cert-days', 7),
  };
  if (flags.size > 0) throw new UsageError(`unknown option --${[...flags.keys()].join(', --')}`);
  return options;
}

function endpoint(base: URL, path: string): URL {
  return new URL(path, base.origin);
}

function since(start: number): number {
  return Math.round(performance.now() - start);
}

async function getJson(url: URL, timeoutMs: number): Promise<{ status: number; body: unknown; ms: number }> {
  const start = performance.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, body, ms: since(start) };
}

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}

async function waitForHealth(options: Options): Promise<void> {
  const deadline = Date.now() + options.waitMs;
  const url = endpoint(options.base, '/healthz');
  while (Date.now() < deadline) {
    try {
      const { status } = await getJson(url, Math.min(options.timeoutMs, 5_000));
      if (status === 200) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

async function checkHealthz(options: Options): Promise<Result> {
  const { status, body, ms } = await getJson(endpoint(options.base, '/healthz'), options.timeoutMs);
  const ok = status === 200 && isRecord(body) && body.status === 'ok';
  return { name: 'GET /healthz', ok, detail: `${status} ${JSON.stringify(body)} (${ms} ms)` };
}

async function checkReadyz(options: Options): Promise<Result> {
  const { status, body, ms } = await getJson(endpoint(options.base, '/readyz'), options.timeoutMs);
  const ok = status === 200 && isRecord(body) && body.status === 'ready';
  const connections = isRecord(body) && typeof body.connections === 'number' ? `, ${body.connections} connections` : '';
  return { name: 'GET /readyz', ok, detail: ok ? `${status} ready${connections} (${ms} ms)` : `${status} ${JSON.stringify(body)} (${ms} ms)` };
}

function checkCertificate(options: Options): Promise<Result> {
  const host = options.base.hostname;
  const port = Number(options.base.port || 443);
  return new Promise((resolve) => {
    const socket = tlsConnect({ host, port, servername: host, timeout: options.timeoutMs }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      const expires = new Date(cert.valid_to);
      const days = Math.floor((expires.getTime() - Date.now()) / 86_400_000);
      const subject = typeof cert.subject?.CN === 'string' ? cert.subject.CN : JSON.stringify(cert.subject);
      const ok = Number.isFinite(days) && days >= options.minCertDays;
      const protocol = socket.getProtocol() ?? 'TLS';
      resolve({
        name: 'TLS certificate',
        ok,
        detail: `CN=${subject}, ${protocol}, expires in ${days} days (${expires.toISOString().slice(0, 10)})${ok ? '' : `: fewer than ${options.minCertDays}`}`,
      });
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve({ name: 'TLS certificate', ok: false, detail: `no TLS handshake within ${options.timeoutMs} ms` });
    });
    socket.once('error', (err) => resolve({ name: 'TLS certificate', ok: false, detail: describeError(err) }));
  });
}

/** One WebSocket session: upgrade, welcome, ping/pong, chat echo. */
async function checkWebSocket(options: Options): Promise<Result[]> {
  const wsUrl = endpoint(options.base, options.wsPath);
  wsUrl.protocol = options.base.protocol === 'https:' ? 'wss:' : 'ws:';
  const results: Result[] = [];
  const started = performance.now();
  // No Origin header: a non-browser client is allowed; browsers are held to ALLOWED_ORIGINS.
  const ws = new WebSocket(wsUrl, { handshakeTimeout: options.timeoutMs, perMessageDeflate: false });

  const inbox: unknown[] = [];
  const waiters: (() => void)[] = [];
  let closed: string | undefined;
  const serverPings: number[] = [];
  ws.on('message', (data, isBinary) => {
    const text = data.toString();
    if (!isBinary && text === 'ping') {
      serverPings.push(performance.now());
      ws.send('pong');
    } else {
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      inbox.push(parsed);
    }
    for (const w of waiters.splice(0)) w();
  });
  ws.on('close', (code, reason) => {
    closed = `closed ${code}${reason.length > 0 ? ` ${reason.toString()}` : ''}`;
    for (const w of waiters.splice(0)) w();
  });

  const until = async (what: string, done: () => boolean): Promise<void> => {
    const deadline = performance.now() + options.timeoutMs;
    while (!done()) {
      if (closed !== undefined) throw new Error(`socket ${closed} while waiting for ${what}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no ${what} within ${options.timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };

  try {
    // 1. The upgrade: 101 from the server through every proxy in between.
    const upgrade = await new Promise<IncomingMessage>((resolve, reject) => {
      ws.once('upgrade', resolve);
      ws.once('unexpected-response', (_req, res: IncomingMessage) => {
        reject(new Error(`${res.statusCode ?? '?'} ${res.statusMessage ?? ''} instead of 101 Switching Protocols (is WebSocket support on, and does the proxy pass Upgrade/Connection?)`));
        res.resume();
      });
      ws.once('error', reject);
    });
    await new Promise<void>((resolve, reject) => {
      if (ws.readyState === WebSocket.OPEN) resolve();
      else {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      }
    });
    results.push({ name: 'WebSocket upgrade', ok: upgrade.statusCode === 101, detail: `${upgrade.statusCode ?? '?'} ${upgrade.statusMessage ?? ''} at ${wsUrl.href} (${since(started)} ms)` });

    // 2. The welcome names us.
    await until('welcome message', () => inbox.some((m) => isRecord(m) && m.type === 'welcome'));
    const welcome = inbox.find((m) => isRecord(m) && m.type === 'welcome') as Record<string, unknown>;
    const name = typeof welcome.name === 'string' ? welcome.name : '';
    results.push({ name: 'Welcome', ok: name !== '', detail: `id=${String(welcome.id)} room=${String(welcome.room)} name=${name}` });

    // 3. Ping/pong: answer the server's text pings, and time WebSocket ping frames.
    await until(`${options.pings} server pings`, () => serverPings.length >= options.pings);
    const gaps = serverPings.slice(1, options.pings).map((t, i) => t - (serverPings[i] ?? t));
    const interval = gaps.length > 0 ? `, every ${Math.round(gaps.reduce((a, b) => a + b, 0) / gaps.length)} ms` : '';
    const rtts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const sent = performance.now();
      ws.ping();
      let timer: NodeJS.Timeout | undefined;
      const answered = await Promise.race([
        new Promise<boolean>((resolve) => ws.once('pong', () => resolve(true))),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), options.timeoutMs))),
      ]);
      clearTimeout(timer);
      if (!answered) throw new Error(`no pong frame within ${options.timeoutMs} ms`);
      if (closed !== undefined) throw new Error(`socket ${closed} during ping frames`);
      rtts.push(performance.now() - sent);
    }
    const rtt = Math.min(...rtts);
    results.push({
      name: 'Ping/pong',
      ok: true,
      detail: `answered ${serverPings.length} server pings${interval}; round trip ${rtt.toFixed(1)} ms (best of 3)`,
    });

    // 4. Chat echo: our own message comes back to us, from us.
    const text = `smoke ${randomUUID()}`;
    const sent = performance.now();
    ws.send(JSON.stringify({ type: 'say', text }));
    await until('chat echo', () => inbox.some((m) => isRecord(m) && m.type === 'message' && m.text === text));
    const echo = inbox.find((m) => isRecord(m) && m.type === 'message' && m.text === text) as Record<string, unknown>;
    const fromUs = echo.from === name;
    results.push({
      name: 'Chat echo',
      ok: fromUs,
      detail: fromUs ? `message echoed in ${since(sent)} ms` : `echo came from ${String(echo.from)}, expected ${name}`,
    });
  } catch (err) {
    const stage = ['WebSocket upgrade', 'Welcome', 'Ping/pong', 'Chat echo'][results.length] ?? 'WebSocket';
    results.push({ name: stage, ok: false, detail: describeError(err) });
  } finally {
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
  }
  return results;
}

async function guard(name: string, check: () => Promise<Result>): Promise<Result> {
  try {
    return await check();
  } catch (err) {
    return { name, ok: false, detail: describeError(err) };
  }
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    if (err.message !== '') console.error(`smoke: ${err.message}\n`);
    console.error(USAGE);
    return err.message === '' ? 0 : 2;
  }
  console.log(`Smoke check of ${options.base.origin}`);
  if (options.waitMs > 0) await waitForHealth(options);
  const results: Result[] = [];
  results.push(await guard('GET /healthz', () => checkHealthz(options)));
  results.push(await guard('GET /readyz', () => checkReadyz(options)));
  if (options.base.protocol === 'https:') results.push(await checkCertificate(options));
  results.push(...(await checkWebSocket(options)));

  const width = Math.max(...results.map((r) => r.name.length));
  for (const r of results) console.log(`  ${r.ok ? 'PASS' : 'FAIL'}  ${r.name.padEnd(width)}  ${r.detail}`);
  const failed = results.filter((r) => !r.ok).length;
  console.log(`${results.length - failed} checks passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
