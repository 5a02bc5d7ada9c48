// npm run chat -- --url ws://localhost:8080/ws --room lobby [--token T]
// A small terminal chat on the client library (client/socketship.js) and Node's own WebSocket.
// The room's messages go to stdout, one per line, and nothing else does, so a program can read
// them; state, presence and failures go to stderr. Each line of stdin is said in the room.
// Reconnecting, resubscribing with `since` and resending unacknowledged says are the library's.
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { connect, SendError } from '../client/socketship.js';
import { ROOM_PATTERN, TEXT_MAX } from '../src/protocol/limits.ts';
import { PERSONAL_ROOM } from '../src/protocol/rooms.ts';
import { isValidText, normaliseText } from '../src/protocol/text.ts';

const USAGE = `usage: npm run chat -- --url <ws://host:port/ws> --room <room> [--token <jwt>]
  --url    the server's WebSocket URL (ws:// or wss://, path /ws)
  --room   the room to follow and say into: 1-64 of A-Za-z0-9_-, or @me (read your own channel)
  --token  a token (npm run token) for a server that requires one; it is not renewed
  --help   this text
Each line read on stdin is said in the room. Messages arrive on stdout as "[room] from: text";
state changes, presence and failures on stderr. Ends at the end of stdin, once the says still
waiting are acknowledged (5 s at most), or at once on Ctrl-C.`;

/** How long the end of stdin waits for unacknowledged says before closing anyway. */
const DRAIN_MS = 5000;

/** Bad usage: one line on stderr, exit 2 (as npm run token and npm run smoke do). */
function usageError(message: string): never {
  console.error(message);
  process.exit(2);
}

function options(): { url?: string; room?: string; token?: string; help?: boolean } {
  try {
    return parseArgs({ options: { url: { type: 'string' }, room: { type: 'string' }, token: { type: 'string' }, help: { type: 'boolean' } } }).values;
  } catch (err) {
    // parseArgs's messages run on with advice about positionals; one line naming the culprit is enough.
    const text = err instanceof Error ? err.message : String(err);
    const code = err instanceof Error && 'code' in err ? err.code : undefined;
    const flag = /'([^']+)'/.exec(text)?.[1];
    usageError(code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag ? `unknown flag: ${flag} (see --help)` : `${text.split('. ')[0]} (see --help)`);
  }
}

const { url, room, token, help } = options();
if (help) {
  console.log(USAGE);
  process.exit(0);
}
if (!url || !room) usageError('--url and --room are required (see --help)');
if (!/^wss?:\/\//.test(url) || !URL.canParse(url)) usageError(`--url ${url}: expected ws://host:port/ws or wss://host/ws`);
// Checked here: a room or a text the server refuses as a bad field closes the socket with 1008,
// after which the library (rightly) does not reconnect.
if (room !== PERSONAL_ROOM && !ROOM_PATTERN.test(room)) usageError(`--room ${room}: expected 1-64 of A-Za-z0-9_-, or ${PERSONAL_ROOM}`);

const note = (text: string): void => void process.stderr.write(`${text}\n`);

note(`connecting to ${url}`);
// The token goes in the access_token query parameter, added by the library; `url` never holds it.
const client = connect(url, token ? { getToken: () => token } : {});
const rl = createInterface({ input: process.stdin });
const waiting = new Set<Promise<void>>();
let ending = false;

/** Closes the client (says still waiting fail with `closed`, printed) and lets the process exit. */
function finish(code: number): void {
  if (ending) return;
  ending = true;
  client.close();
  rl.close();
  process.exitCode = code;
  // Nothing should keep the process alive now; should something, it must not hang a script.
  setTimeout(() => process.exit(code), 2000).unref();
}

client.on('state', (change) => {
  if (ending) return;
  const why = change.code === undefined ? '' : ` (${change.code}${change.reason ? ` ${change.reason}` : ''})`;
  note(`state: ${change.state}${why}${change.retryInMs === undefined ? '' : `, retrying in ${change.retryInMs} ms`}`);
  // The token is not renewed: once it has expired, reconnecting with it only gets 401s.
  if (change.state === 'reconnecting' && change.code === 4001) {
    note('the token expired: make a new one (npm run token) and start again');
    finish(1);
  }
  if (change.state === 'closed') finish(1);
});
client.on('welcome', (w) => note(`connected as ${w.name}${w.user === undefined ? '' : ` (${w.user})`}`));

client.subscribe(room, {
  message: (m) => void process.stdout.write(`[${m.room}] ${m.from}: ${m.text}\n`),
  presence: (members) => note(`[${room}] ${members} member${members === 1 ? '' : 's'}`),
  subscribed: () => note(`[${room}] subscribed`),
  truncated: (since) => note(`[${room}] some messages after ${since} are no longer kept`),
  unsubscribed: (reason) => {
    note(`[${room}] unsubscribed (${reason})`);
    finish(1);
  },
  error: (reason) => {
    note(`[${room}] cannot follow: ${reason}`);
    finish(1);
  },
});

rl.on('line', (line) => {
  if (line === '' || ending) return;
  const text = normaliseText(line);
  if (!isValidText(text, TEXT_MAX)) return note(`not sent: at most ${TEXT_MAX} characters, no control characters but tabs, no bidi overrides`);
  const done = client.say(room, text).then(
    () => undefined,
    (err: unknown) => note(`say failed: ${err instanceof SendError ? err.reason : String(err)}`),
  );
  waiting.add(done);
  void done.finally(() => waiting.delete(done));
});

// The end of stdin (a pipe that is done, Ctrl-D): what was typed last is still said, if it can be.
rl.on('close', () => {
  if (ending) return;
  const drained = Promise.all(waiting);
  const bound = new Promise((resolve) => setTimeout(resolve, DRAIN_MS).unref());
  void Promise.race([drained, bound]).then(() => finish(0));
});
// Ctrl-C: readline takes it from a terminal, the process from `kill -INT`.
rl.on('SIGINT', () => finish(0));
process.on('SIGINT', () => finish(0));
