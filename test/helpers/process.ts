// Runs the real entry point (node src/main.ts) as a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { within } from './bounded.ts';
export { freePort } from './ports.ts';

/** How long a test waits for the service to exit before it fails. */
export const EXIT_WAIT_MS = 15_000;

export const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));


export interface Service {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** The exit, bounded by EXIT_WAIT_MS: a service that never exits fails the test, it never hangs it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function runService(env: Record<string, string>, cwd?: string): Service {
  // Only what the test gives, plus PATH: the developer's own environment must not leak in.
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    get exited() {
      return within(exited, EXIT_WAIT_MS, 'the service to exit');
    },
  };
}

export async function waitHealthy(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`service on port ${port} not healthy within ${timeoutMs} ms`);
}

/** Kills (SIGKILL) every service still running and waits for all of them to exit, bounded. */
export async function killServices(services: readonly Service[]): Promise<void> {
  for (const s of services) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  await Promise.all(services.map((s) => s.exited));
}
