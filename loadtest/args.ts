// The load test's command line: one table that both the parser and `--help` read, so the usage
// cannot drift from what is accepted. Parsing is strict (an unknown flag, a missing or bad value
// is a UsageError: exit code 2 and one line) because a typo here would otherwise point some other
// load than intended at somebody's production deployment.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { UsageError } from './fail.ts';

/** What runs without --i-know-the-size: a load any deployment that serves users at all can take. */
export const SAFE = { connections: 100, rate: 50, connectRate: 50 } as const;
/** Bounds even with --i-know-the-size: one client machine's ports and one process's event loop. */
const MAX = { connections: 20_000, rate: 10_000, connectRate: 2_000, durationS: 600 } as const;
export const SIZE_FLAG = 'i-know-the-size';

export interface Options {
  url: URL;
  token: string | undefined;
  tokenCommand: string | undefined;
  connections: number;
  /** Messages a second into the room, every publisher together. */
  rate: number;
  /** Connects a second during the ramp. */
  connectRate: number;
  durationS: number;
  room: string;
  /** PEM text of --ca, trusted besides the default CAs. */
  ca: string | undefined;
  /** Where to connect instead of resolving the URL's host. */
  resolve: string | undefined;
  json: boolean;
  quiet: boolean;
}

interface Flag {
  name: string;
  /** The value's placeholder; none for a switch. */
  value?: string;
  meaning: string;
  default?: string;
}

const FLAGS: readonly Flag[] = [
  { name: 'url', value: 'URL', meaning: 'the ws:// or wss:// endpoint, e.g. wss://chat.example.com/ws (required; never with a token in it)' },
  { name: 'token', value: 'T', meaning: 'sent as Authorization: Bearer T on every upgrade' },
  { name: 'token-command', value: 'CMD', meaning: 'run CMD with /bin/sh; its trimmed stdout is the token' },
  { name: 'connections', value: 'N', meaning: 'sockets to open and keep open', default: '10' },
  { name: 'connect-rate', value: 'C', meaning: 'connects a second during the ramp', default: '20' },
  { name: 'rate', value: 'R', meaning: 'messages a second into the room, all publishers together', default: '10' },
  { name: 'duration', value: 'S', meaning: `seconds for the whole run, ramp included (at most ${MAX.durationS})`, default: '30' },
  { name: 'room', value: 'NAME', meaning: 'the room the sockets join (keep it apart from real users)', default: 'loadtest-<random>' },
  { name: 'ca', value: 'FILE', meaning: 'also trust this CA certificate (PEM), for a private CA; NODE_EXTRA_CA_CERTS works too' },
  { name: 'resolve', value: 'ADDRESS', meaning: "connect to this IP instead of looking up the URL's host (TLS name and Host header stay the URL's)" },
  { name: 'json', meaning: 'print the summary as JSON instead of tables' },
  { name: 'quiet', meaning: 'no progress lines on stderr' },
  { name: SIZE_FLAG, meaning: `allow more than ${SAFE.connections} connections, ${SAFE.rate} messages/s or ${SAFE.connectRate} connects/s` },
  { name: 'help', meaning: 'print this and exit (also -h)' },
];

export function usage(): string {
  const left = (f: Flag): string => `--${f.name}${f.value ? ` ${f.value}` : ''}`;
  const width = Math.max(...FLAGS.map((f) => left(f).length));
  return [
    'usage: npm run loadtest -- --url wss://host/ws [flags]   (or: node loadtest/main.ts ...)',
    '',
    "Measures a running deployment with the benchmark's own client: a connect ramp, broadcast latency",
    'in a room of its own, and echo round trips (a say back to its sender). Progress on stderr once a',
    'second, a summary on stdout at the end.',
    '',
    ...FLAGS.map((f) => `  ${left(f).padEnd(width)}  ${f.meaning}${f.default ? `; default ${f.default}` : ''}`),
    '',
    `Safety: more than ${SAFE.connections} connections, ${SAFE.rate} messages/s or ${SAFE.connectRate} connects/s is refused`,
    `unless --${SIZE_FLAG} is given; the run stops by itself after --duration.`,
    'Exit codes: 0 every socket opened and every message came back; 1 a failure (the summary says',
    'which) or the URL could not be reached; 2 a bad command line.',
    '',
  ].join('\n');
}

/** Help wins over everything, even a bad flag beside it. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

function tokenize(argv: readonly string[]): Map<string, string> {
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const m = /^--([a-z][a-z-]*)(?:=(.*))?$/s.exec(arg);
    if (!m) throw new UsageError(`unexpected argument ${JSON.stringify(arg)} (flags start with --; see --help)`);
    const name = m[1] ?? '';
    const inline = m[2];
    const flag = FLAGS.find((f) => f.name === name);
    if (!flag) throw new UsageError(`unknown flag --${name} (see --help)`);
    if (given.has(name)) throw new UsageError(`--${name} given twice`);
    if (!flag.value) {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      given.set(name, '');
      continue;
    }
    const value = inline ?? argv[i + 1];
    if (value === undefined || value === '' || (inline === undefined && value.startsWith('--'))) throw new UsageError(`--${name} needs a value (${flag.value})`);
    if (inline === undefined) i++;
    given.set(name, value);
  }
  return given;
}

function number(name: string, text: string | undefined, fallback: number, min: number, max: number, integer: boolean): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  const kind = integer ? 'a whole number' : 'a number';
  if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new UsageError(`--${name}: expected ${kind} from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return n;
}

function parseUrl(text: string | undefined): URL {
  if (text === undefined) throw new UsageError('--url is required, e.g. --url wss://chat.example.com/ws (see --help)');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url: not a URL: ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new UsageError(`--url: expected ws:// or wss://, got ${url.protocol}//`);
  // Proxies and servers keep URLs in their access logs: a token there is a token leaked.
  if (url.searchParams.has('access_token') || url.username || url.password) throw new UsageError('--url: no credentials in the URL (access logs keep URLs); use --token or --token-command');
  return url;
}

function readCa(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--ca: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`--ca: ${file} holds no PEM certificate`);
  return pem;
}

/** The options of a command line (without --help); a UsageError for anything it does not accept. */
export function parseArgs(argv: readonly string[]): Options {
  const given = tokenize(argv);
  const value = (name: string): string | undefined => given.get(name);
  const url = parseUrl(value('url'));
  const token = value('token');
  const tokenCommand = value('token-command');
  if (token !== undefined && tokenCommand !== undefined) throw new UsageError('--token and --token-command: choose one');
  // Visible ASCII only: anything else would be refused by the HTTP client or split the header.
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) throw new UsageError('--token: expected visible ASCII characters without spaces');
  const connections = number('connections', value('connections'), 10, 1, MAX.connections, true);
  const connectRate = number('connect-rate', value('connect-rate'), 20, 0.1, MAX.connectRate, false);
  const rate = number('rate', value('rate'), 10, 0.1, MAX.rate, false);
  const durationS = number('duration', value('duration'), 30, 1, MAX.durationS, false);
  const room = value('room') ?? `loadtest-${randomBytes(4).toString('hex')}`;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(room)) throw new UsageError(`--room: 1-64 of A-Za-z0-9_-, got ${JSON.stringify(room)}`);
  const resolve = value('resolve');
  if (resolve !== undefined && isIP(resolve) === 0) throw new UsageError(`--resolve: expected an IPv4 or IPv6 address, got ${JSON.stringify(resolve)}`);
  if (!given.has(SIZE_FLAG)) {
    const over = [
      connections > SAFE.connections ? `${connections} connections (limit ${SAFE.connections})` : '',
      rate > SAFE.rate ? `${rate} messages/s (limit ${SAFE.rate})` : '',
      connectRate > SAFE.connectRate ? `${connectRate} connects/s (limit ${SAFE.connectRate})` : '',
    ].filter(Boolean);
    if (over.length) throw new UsageError(`refusing ${over.join(', ')} without --${SIZE_FLAG}: make sure the deployment may take that load, then add it`);
  }
  // The ramp is paced, so its length is known now: a run that would end before its first message is a mistake.
  const rampS = connections / connectRate;
  if (rampS + 1 > durationS) throw new UsageError(`--duration: ${durationS} s leaves no time for messages after the ${rampS.toFixed(1)} s ramp (${connections} connections at ${connectRate}/s); raise --duration or --connect-rate`);
  return { url, token, tokenCommand, connections, rate, connectRate, durationS, room, ca: readCa(value('ca')), resolve, json: given.has('json'), quiet: given.has('quiet') };
}
