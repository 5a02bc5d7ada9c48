// Runs the load test's real command line (node loadtest/main.ts) as a child process, bounded,
// for test/integration/loadtest.test.ts and the TLS stack's step in test/e2e/tls.test.ts.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Summary } from '../../loadtest/types.ts';

export const LOADTEST = fileURLToPath(new URL('../../loadtest/main.ts', import.meta.url));

export interface LoadtestRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stderr's lines, without the progress lines. */
  said: string[];
  ms: number;
}

/** Runs the CLI with these flags; killed (and the test failed by the caller's asserts) after timeoutMs. */
export function loadtest(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<LoadtestRun> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const started = Date.now();
  // Only PATH (for --token-command's shell) and what the test adds: no NODE_EXTRA_CA_CERTS by accident.
  const child = spawn(process.execPath, [LOADTEST, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`loadtest ${args.join(' ')}: no exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      const said = stderr.split('\n').filter((l) => l !== '' && !/^loadtest +\d+s\//.test(l));
      resolve({ code, stdout, stderr, said, ms: Date.now() - started });
    });
  });
}

/** The --json summary of a run, with what went wrong in the message when it is not JSON. */
export function summaryOf(r: LoadtestRun): Summary {
  try {
    return JSON.parse(r.stdout) as Summary;
  } catch {
    throw new Error(`no JSON summary (exit ${String(r.code)}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
}
