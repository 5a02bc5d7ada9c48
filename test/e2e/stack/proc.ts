// Child processes and bounded waiting for the stack suites.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  input?: string;
  /** Resolve with the result instead of rejecting on a non-zero exit. */
  allowFailure?: boolean;
}

/** Run a command to completion (killed after timeoutMs) and collect its output. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')}: no result within ${timeoutMs} ms\n${tail(stdout)}\n${tail(stderr)}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const result = { code, stdout, stderr };
      if (code === 0 || opts.allowFailure) resolve(result);
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}\n${tail(stdout)}\n${tail(stderr)}`));
    });
    child.stdin.end(opts.input ?? '');
  });
}

export function tail(text: string, lines = 40): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** The first executable called `name` on PATH (or `preferred` when it exists), else undefined. */
export function findExecutable(name: string, preferred?: string): string | undefined {
  if (preferred && existsSync(preferred)) return preferred;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** Fail (never skip) with what to install when a tool is missing. */
export function requireExecutable(name: string, installHint: string, preferred?: string): string {
  const found = findExecutable(name, preferred);
  if (!found) throw new Error(`'${name}' is not installed; this suite needs it: ${installHint}`);
  return found;
}

/** Synchronous probe used before any container is started. */
export function probe(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): RunResult {
  const r = spawnSync(cmd, args, { env: env ?? process.env, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export interface WaitOptions {
  /** Most attempts. */
  tries: number;
  /** Pause between attempts. */
  intervalMs: number;
  /** Overall limit, whatever the attempts. */
  timeoutMs: number;
}

/**
 * Call `check` until it returns a value other than undefined, within both limits; then throw
 * with `what` and the last error seen.
 */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined>, opts: WaitOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: unknown;
  for (let i = 0; i < opts.tries && Date.now() < deadline; i++) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await sleep(opts.intervalMs);
  }
  const detail = last instanceof Error ? `: ${last.message}` : '';
  throw new Error(`timed out waiting for ${what} (${opts.tries} tries, ${opts.timeoutMs} ms)${detail}`);
}

/**
 * it() that remembers a failure, so that a suite's teardown can show the containers' logs only
 * when something went wrong.
 */
export function failureTracking(it: (name: string, fn: () => Promise<void>) => unknown): { check(name: string, fn: () => Promise<void>): void; failed(): boolean } {
  let failed = false;
  return {
    check(name, fn) {
      it(name, async () => {
        try {
          await fn();
        } catch (err) {
          failed = true;
          throw err;
        }
      });
    },
    failed: () => failed,
  };
}

/** A line of the suite's own report, as TAP diagnostics. */
export function log(line: string): void {
  console.log(`# ${line}`);
}
