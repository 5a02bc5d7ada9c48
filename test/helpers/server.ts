// Starts the real service in-process on 127.0.0.1 port 0, with logs captured as objects.
import { after } from 'node:test';
import { createApp, type App, type AppDeps } from '../../src/app.ts';
import { parseConfig, type Config } from '../../src/config/config.ts';
import { createLogger } from '../../src/log/logger.ts';

export type LogLine = Record<string, unknown> & { level: string; msg: string };

export interface TestServer {
  app: App;
  config: Config;
  url: string;
  wsUrl: string;
  port: number;
  logs: LogLine[];
  stop(): Promise<void>;
}

export async function startServer(overrides: Partial<Config> = {}, deps: Partial<AppDeps> = {}): Promise<TestServer> {
  // Tests read every refusal's log line: the production rate limit on them (REFUSAL_LOG_PER_SEC) is
  // raised here; the test of that limit sets its own.
  const config: Config = { ...parseConfig({}), host: '127.0.0.1', port: 0, logLevel: 'debug', refusalLogPerSec: 10_000, ...overrides };
  const logs: LogLine[] = [];
  const logger = createLogger({
    level: config.logLevel,
    destination: { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) },
  });
  const app = createApp(config, { logger, processMetrics: false, ...deps });
  const address = await app.start();
  const origin = `http://127.0.0.1:${address.port}`;
  return {
    app,
    config,
    logs,
    port: address.port,
    url: origin,
    wsUrl: `ws://127.0.0.1:${address.port}/ws`,
    stop: () => app.stop(),
  };
}

/** Reads one metric sample value from /metrics text, e.g. metric(text, 'ws_closes_total', { code: '1008' }). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labelText = match[2] ?? '';
    if (wanted.every((w) => labelText.includes(w))) return Number(match[3]);
  }
  return 0;
}

export async function fetchMetrics(server: TestServer): Promise<string> {
  const res = await fetch(`${server.url}/metrics`);
  return res.text();
}

/** Polls until `check` returns true; fails after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A starter for one test file: servers get `defaults` under the test's own overrides, and all of
 * them stop after the file's tests.
 */
export function serverPool(defaults: Partial<Config> = {}): (overrides?: Partial<Config>, deps?: Partial<AppDeps>) => Promise<TestServer> {
  const servers: TestServer[] = [];
  after(() => Promise.all(servers.map((s) => s.stop())));
  return async (overrides = {}, deps = {}) => {
    const s = await startServer({ ...defaults, ...overrides }, deps);
    servers.push(s);
    return s;
  };
}
