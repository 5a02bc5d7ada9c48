// Child processes of the harness: launched with the open-files limit raised and pinned to a core
// when pinning, stopped with a grace period, and all killed if the harness itself exits.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { ROOT, options, settings } from './args.ts';
export { freePort } from '../../test/helpers/ports.ts';

export function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const pin = !options.noPin && settings.mode !== 'smoke' && hasCommand('taskset') && cpus().length >= 2;

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.pid) c.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const cleanEnv = (extra: Record<string, string>): Record<string, string> => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', ...extra });

/** Runs argv with the open-files limit raised to the hard limit, pinned to `core` when pinning. */
export function launch(args: string[], core: number, env: Record<string, string>, stdout: 'ignore' | 'inherit' | number, cwd = ROOT): ChildProcess {
  const pinArgs = pin ? ['taskset', '-c', String(core)] : [];
  const child = spawn('bash', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'bash', ...pinArgs, ...args], {
    env,
    cwd,
    stdio: ['ignore', stdout, 'pipe', 'ipc'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (err.length < 4000) err += d.toString();
  });
  child.once('exit', (code, signal) => {
    children.delete(child);
    if (code && code !== 0 && signal === null) console.error(`child ${args.at(-1)} exited ${code}: ${err.trim().slice(-1000)}`);
  });
  children.add(child);
  return child;
}

export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}


export type Defer = (cleanup: () => unknown) => void;

/**
 * The one teardown of every scenario: `body` registers a cleanup right after it starts each
 * part (server, nginx, load generator...), and they all run, last started first, however the
 * body ends. A failing cleanup is reported and does not stop the others.
 */
export async function withCleanup<T>(body: (defer: Defer) => Promise<T>): Promise<T> {
  const cleanups: (() => unknown)[] = [];
  try {
    return await body((cleanup) => cleanups.push(cleanup));
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (err) {
        console.error(`  cleanup failed: ${(err as Error).message}`);
      }
    }
  }
}
