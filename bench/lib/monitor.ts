// Commands sent, as distinct from operations. INFO commandstats counts every command Redis ran,
// including those a script called, so it cannot tell one EVALSHA of three redis.call()s (one
// request) from four requests. MONITOR can: Redis prints each command it runs, and the ones a
// script called carry `[0 lua]` where a client's address would be. The count is then
//   sent = commandstats calls in the window - `[0 lua]` lines in the window
// with both sides bounded by the same two INFO snapshots: the harness's INFO at each window mark
// is itself a MONITOR line, and Redis runs one command at a time, so what precedes that line in
// the stream is exactly what that snapshot counted. MONITOR's own top-level lines are not used as
// the figure because Redis hides admin commands from it (CLIENT UNBLOCK, CONFIG...), which are
// requests all the same; they are kept as a cross-check (monitorSent <= sent).
// MONITOR makes Redis format and write every command, so it is only ever open during a counting
// window of its own (bench/lib/count-window.ts), never during a latency or CPU window.
import { connect, type Socket } from 'node:net';
import { callsBetween, perMessage, sum, type CommandClient, type RedisStats } from './redis-stats.ts';

/** Commands whose commandstats name includes the subcommand (`client|id`), as Redis 7 names them. */
const CONTAINERS = new Set(['acl', 'client', 'cluster', 'command', 'config', 'function', 'latency', 'memory', 'module', 'object', 'pubsub', 'script', 'slowlog', 'xgroup', 'xinfo']);
const LINE = /^\+\d+\.\d+ \[\d+ (.+?)\] (.*)$/;
const ARG = /"((?:[^"\\]|\\.)*)"/g;

export interface MonitorCount {
  /** Both INFO marks were seen: the counts cover exactly the window between the two snapshots. */
  complete: boolean;
  /** Top-level commands of every client but the harness, by commandstats name. */
  topLevel: Record<string, number>;
  /** Commands that scripts called (`[0 lua]` lines), by commandstats name. */
  scriptInner: Record<string, number>;
}

export interface Monitor {
  /** Waits (at most waitMs) for the end mark, closes the connection, and returns the counts. */
  stop(waitMs?: number): Promise<MonitorCount>;
}

/** The commandstats name of a monitored command: `xadd`, `client|unblock`. */
export function commandName(args: string): string | undefined {
  const [cmd, sub] = [...args.matchAll(ARG)].slice(0, 2).map((m) => m[1]!.toLowerCase());
  if (cmd === undefined) return undefined;
  return CONTAINERS.has(cmd) && sub !== undefined ? `${cmd}|${sub}` : cmd;
}

/** The harness connection's address as Redis prints it (`127.0.0.1:54321`). */
async function addressOf(client: CommandClient): Promise<string> {
  const info = String(await client.sendCommand(['CLIENT', 'INFO']));
  const addr = /(?:^| )addr=(\S+)/.exec(info)?.[1];
  if (!addr) throw new Error(`CLIENT INFO gave no addr: ${info.slice(0, 200)}`);
  return addr;
}

/**
 * Opens a MONITOR connection to `url` (bounded by timeoutMs) that counts, between the next two
 * INFO commands of `harness`, what every other client sent and what scripts called.
 */
export async function startMonitor(url: string, harness: CommandClient, timeoutMs = 5_000): Promise<Monitor> {
  const self = await addressOf(harness);
  const { hostname, port } = new URL(url);
  const socket: Socket = connect({ host: hostname, port: Number(port || 6379) });
  const count: MonitorCount = { complete: false, topLevel: {}, scriptInner: {} };
  let phase: 'before' | 'in' | 'after' = 'before';
  let ended: () => void = () => {};
  const end = new Promise<void>((r) => (ended = r));
  let buffered = '';

  const onLine = (line: string): void => {
    const m = LINE.exec(line);
    if (!m) return;
    const [, who, args = ''] = m;
    const name = commandName(args);
    if (name === undefined) return;
    if (who === self) {
      // The harness sends nothing but the snapshots while a window is counted.
      if (name !== 'info') return;
      if (phase === 'before') phase = 'in';
      else if (phase === 'in') {
        phase = 'after';
        count.complete = true;
        ended();
      }
      return;
    }
    if (phase !== 'in') return;
    const into = who === 'lua' ? count.scriptInner : count.topLevel;
    into[name] = (into[name] ?? 0) + 1;
  };

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`MONITOR not answered within ${timeoutMs} ms`)), timeoutMs);
    function fail(err: Error): void {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    }
    socket.once('error', fail);
    socket.on('data', (chunk: Buffer) => {
      // Arguments are escaped by Redis (printable ASCII), so lines split safely on CRLF.
      buffered += chunk.toString('latin1');
      const lines = buffered.split('\r\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line === '+OK') {
          clearTimeout(timer);
          socket.off('error', fail);
          socket.on('error', () => ended());
          resolve();
        } else if (line.startsWith('-')) fail(new Error(`MONITOR refused: ${line}`));
        else onLine(line);
      }
    });
    socket.once('connect', () => socket.write('MONITOR\r\n'));
  });

  return {
    async stop(waitMs = 5_000) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([end, new Promise<void>((r) => (timer = setTimeout(r, waitMs)))]);
      clearTimeout(timer);
      socket.destroy();
      return count;
    },
  };
}

/** Waits (bounded) until Redis has let every MONITOR connection go, so that none costs the next window. */
export async function monitorsGone(harness: CommandClient, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = String(await harness.sendCommand(['CLIENT', 'LIST']));
    if (!/ flags=\S*O/.test(list)) return;
    if (Date.now() > deadline) throw new Error(`a MONITOR connection still open after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface CommandCount {
  /** Messages published in the counting window. */
  messages: number;
  /** What commandstats counted (operations, script-inner included), per message. */
  opsPerMessage: number;
  /** Requests the instances sent, a script call counted once: ops minus script-inner, per message. */
  sentPerMessage: number;
  scriptInnerPerMessage: number;
  /** Top-level commands MONITOR showed (admin commands hidden): a check, <= sentPerMessage. */
  monitorSentPerMessage: number;
  /** Calls Redis refused before running them (not in either count), per message; normally 0. */
  rejectedPerMessage: number;
  sentByCommand: Record<string, number>;
  scriptInnerByCommand: Record<string, number>;
  monitorByCommand: Record<string, number>;
  /** Both snapshots were found in the MONITOR stream. */
  complete: boolean;
}

export function commandCount(a: RedisStats, b: RedisStats, m: MonitorCount, messages: number): CommandCount {
  const calls = callsBetween(a, b);
  const sent: Record<string, number> = {};
  for (const name of new Set([...Object.keys(calls), ...Object.keys(m.scriptInner)])) {
    const d = (calls[name] ?? 0) - (m.scriptInner[name] ?? 0);
    if (d !== 0) sent[name] = d;
  }
  const per = (n: number): number => n / Math.max(1, messages);
  return {
    messages,
    opsPerMessage: per(sum(calls)),
    sentPerMessage: per(sum(calls) - sum(m.scriptInner)),
    scriptInnerPerMessage: per(sum(m.scriptInner)),
    monitorSentPerMessage: per(sum(m.topLevel)),
    rejectedPerMessage: per(b.rejected - a.rejected),
    sentByCommand: perMessage(sent, messages),
    scriptInnerByCommand: perMessage(m.scriptInner, messages),
    monitorByCommand: perMessage(m.topLevel, messages),
    complete: m.complete,
  };
}
