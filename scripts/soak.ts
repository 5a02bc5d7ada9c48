// Soak: the real service (node src/main.ts) under idle and chatty clients for N minutes, with room
// churn (clients hopping to new rooms, as a room hoarder would), sampling the server's RSS and heap
// from its own /metrics. Prints the samples and the trend; exits 1 when memory keeps growing after
// the warm-up, or when a chatty client missed one of its own messages; 2 on bad usage.
//
//   npm run soak -- --minutes 5 [--idle 200] [--chatty 20] [--sample-seconds 5]
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { freePort } from '../test/helpers/ports.ts';

interface Options {
  minutes: number;
  idle: number;
  chatty: number;
  sampleSeconds: number;
}

const USAGE = 'Usage: npm run soak -- --minutes <n> [--idle <sockets>] [--chatty <sockets>] [--sample-seconds <s>]';

function parseArgs(argv: string[]): Options {
  const o: Options = { minutes: 1, idle: 200, chatty: 20, sampleSeconds: 5 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, '');
    const value = Number(argv[i + 1]);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`bad value for ${argv[i]}`);
    if (key === 'minutes') o.minutes = Math.min(value, 24 * 60);
    else if (key === 'idle') o.idle = Math.min(Math.round(value), 5000);
    else if (key === 'chatty') o.chatty = Math.min(Math.round(value), 500);
    else if (key === 'sample-seconds') o.sampleSeconds = value;
    else throw new Error(`unknown option ${argv[i]}`);
  }
  return o;
}


async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const mb = (n: number): string => (n / 2 ** 20).toFixed(1);

/** A client that answers pings; chatty ones say something every `everyMs` and check they hear it back. */
class Client {
  ws!: WebSocket;
  said = 0;
  heard = 0;
  private room: string;
  private timer: NodeJS.Timeout | undefined;
  private readonly url: string;
  private readonly everyMs: number;
  private readonly name: string;
  constructor(url: string, room: string, everyMs: number, name: string) {
    this.name = name;
    this.url = url;
    this.room = room;
    this.everyMs = everyMs;
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url, { handshakeTimeout: 5000 });
      this.ws = ws;
      ws.on('error', reject);
      ws.on('message', (d) => {
        const text = d.toString();
        if (text === 'ping') return ws.send('pong');
        if (text.includes('"type":"message"') && text.includes(`"from":"${this.name}"`)) this.heard++;
      });
      ws.on('open', () => {
        ws.send(JSON.stringify({ type: 'join', room: this.room, name: this.name }));
        if (this.everyMs > 0) this.timer = setInterval(() => this.say(), this.everyMs);
        resolve();
      });
    });
  }

  private say(): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.said++;
    this.ws.send(JSON.stringify({ type: 'say', text: `soak ${this.said} ${'z'.repeat(200)}` }));
  }

  /** Moves to a new room (room churn): the old one's history is left for the budget to bound. */
  hop(room: string): void {
    this.room = room;
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'join', room, name: this.name }));
  }

  close(): void {
    clearInterval(this.timer);
    this.ws.close(1000);
  }
}

async function main(): Promise<number> {
  let o: Options;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const port = await freePort();
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  // A small history budget, so the warm-up fills it: what grows after that is a leak.
  const env = { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', HISTORY_MAX_BYTES: '2097152', RATE_LIMIT_PER_SEC: '20' };
  const child = spawn(process.execPath, [main], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const up = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
      if (up) break;
      if (Date.now() > deadline) throw new Error('the service did not start within 10 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const url = `ws://127.0.0.1:${port}/ws`;
    const idle = Array.from({ length: o.idle }, (_, i) => new Client(url, `idle-${i % 10}`, 0, `idle-${i}`));
    const chatty = Array.from({ length: o.chatty }, (_, i) => new Client(url, `chat-${i % 5}`, 250, `chatty-${i}`));
    for (const c of [...idle, ...chatty]) await c.open();
    const durationMs = o.minutes * 60_000;
    const warmupMs = Math.min(20_000, durationMs / 3);
    const started = Date.now();
    const samples: { at: number; rss: number; heap: number }[] = [];
    let hops = 0;
    console.log(`soak: ${o.idle} idle + ${o.chatty} chatty sockets for ${o.minutes} min, sampling every ${o.sampleSeconds} s`);
    console.log('   s    rss MB   heap MB   sockets');
    while (Date.now() - started < durationMs) {
      await new Promise((r) => setTimeout(r, o.sampleSeconds * 1000));
      for (const c of chatty) c.hop(`churn-${hops++}`); // a new room each: history the budget must bound
      const rss = await metric(port, 'process_resident_memory_bytes');
      const heap = await metric(port, 'nodejs_heap_size_used_bytes');
      const open = await metric(port, 'ws_connections_open');
      samples.push({ at: Date.now() - started, rss, heap });
      console.log(`${String(Math.round((Date.now() - started) / 1000)).padStart(4)}  ${mb(rss).padStart(8)}  ${mb(heap).padStart(8)}  ${String(open).padStart(8)}`);
      if (open < o.idle + o.chatty) throw new Error(`only ${open} of ${o.idle + o.chatty} sockets still open`);
    }
    for (const c of [...idle, ...chatty]) c.close();
    const measured = samples.filter((s) => s.at >= warmupMs);
    const third = Math.max(1, Math.floor(measured.length / 3));
    const early = measured.slice(0, third);
    const late = measured.slice(-third);
    const rssGrowth = median(late.map((s) => s.rss)) - median(early.map((s) => s.rss));
    // The heap is read without a collection, so it is a sawtooth (measured: 24 to 35 MB and back,
    // a period of 30-40 s under this load): its median says where the collector happens to be.
    // Its troughs, just after a collection, are the live set: a leak raises them. Compared over
    // the halves of the measured time, so that each holds at least one collection.
    const half = Math.max(1, Math.floor(measured.length / 2));
    const heapGrowth = Math.min(...measured.slice(-half).map((s) => s.heap)) - Math.min(...measured.slice(0, half).map((s) => s.heap));
    const said = chatty.reduce((n, c) => n + c.said, 0);
    const heard = chatty.reduce((n, c) => n + c.heard, 0);
    console.log(`soak: after warm-up, rss ${rssGrowth >= 0 ? '+' : ''}${mb(rssGrowth)} MB, heap ${heapGrowth >= 0 ? '+' : ''}${mb(heapGrowth)} MB; chatty said ${said}, heard back ${heard}`);
    const failures: string[] = [];
    if (heapGrowth > 8 * 2 ** 20) failures.push(`heap grew ${mb(heapGrowth)} MB after warm-up`);
    if (rssGrowth > 32 * 2 ** 20) failures.push(`rss grew ${mb(rssGrowth)} MB after warm-up`);
    // Every message a chatty client said comes back to it (the acknowledgement), but one said just
    // before a room hop, whose copy goes to the room it left: at most one a client per hop.
    if (heard < said - o.chatty * (samples.length + 1)) failures.push(`chatty clients heard back ${heard} of ${said} messages`);
    for (const f of failures) console.error(`soak: FAIL ${f}`);
    if (failures.length === 0) console.log('soak: ok');
    return failures.length === 0 ? 0 : 1;
  } finally {
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  }
}

process.exitCode = await main().catch((err: unknown) => {
  console.error(`soak: ${err instanceof Error ? err.message : String(err)}`);
  return 1;
});
