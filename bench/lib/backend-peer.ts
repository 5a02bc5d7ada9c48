// The harness's side of the backend peer (bench/peers/backend.ts): started pinned to core 1 with
// the load generator, its port read from its first message (bounded), its counts asked for over
// IPC (bounded), stopped like every child.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { BackendAsk, BackendCounts, BackendTell } from '../peers/backend.ts';
import { ROOT } from './args.ts';
import { cleanEnv, launch, stopChild } from './processes.ts';

export type { BackendCounts };

const PEER = join(ROOT, 'bench/peers/backend.ts');

export interface RunningBackend {
  child: ChildProcess;
  pid: number;
  /** POST target of the webhooks (WEBHOOK_URL). */
  webhookUrl: string;
  /** POST target of the publish hook (PUBLISH_HOOK_URL). */
  hookUrl: string;
}

/** The next message of `child` that `pick` accepts, or an error after `timeoutMs` or if it exits. */
function nextTell<T>(child: ChildProcess, pick: (m: BackendTell) => T | undefined, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`backend peer: no ${what} within ${timeoutMs} ms`)), timeoutMs);
    const exit = (): void => done(new Error(`backend peer exited before ${what}`));
    const on = (m: BackendTell): void => {
      const value = pick(m);
      if (value !== undefined) done(undefined, value);
    };
    function done(err?: Error, value?: T): void {
      clearTimeout(timer);
      child.off('message', on);
      child.off('exit', exit);
      if (err) reject(err);
      else resolve(value as T);
    }
    child.on('message', on);
    child.once('exit', exit);
  });
}

/** `hookDelayMs`: how long the hook waits before it accepts a say. */
export async function startBackend(hookDelayMs: number): Promise<RunningBackend> {
  const child = launch([process.execPath, PEER], 1, cleanEnv({ HOOK_DELAY_MS: String(hookDelayMs) }), 'ignore');
  try {
    const port = await nextTell(child, (m) => (m.peer === 'listening' ? m.port : undefined), 10_000, 'port');
    const base = `http://127.0.0.1:${port}`;
    return { child, pid: child.pid!, webhookUrl: `${base}/events`, hookUrl: `${base}/publish` };
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}

export function backendCounts(b: RunningBackend): Promise<BackendCounts> {
  const answer = nextTell(b.child, (m) => (m.peer === 'counts' ? m.counts : undefined), 10_000, 'counts');
  b.child.send({ peer: 'counts' } satisfies BackendAsk);
  return answer;
}

export function stopBackend(b: RunningBackend): Promise<void> {
  return stopChild(b.child, 3_000);
}
