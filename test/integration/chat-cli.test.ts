// npm run chat (scripts/chat.ts) as a user runs it: a real process on the client library, against
// the real service in-process, with a plain ws client in the same room on the other side.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { within } from '../helpers/bounded.ts';
import { until } from '../helpers/chat.ts';
import { TestClient } from '../helpers/client.ts';
import { serverPool } from '../helpers/server.ts';
import { hs256, SECRET } from '../helpers/tokens.ts';
import { parseIdentityConfig } from '../../src/config/identity.ts';

const CHAT = fileURLToPath(new URL('../../scripts/chat.ts', import.meta.url));
const EXIT_MS = 10_000;
const start = serverPool();

interface Cli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** The exit, bounded: a CLI that never ends fails the test instead of hanging it. */
  exited: () => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function chat(args: string[]): Cli {
  // Only PATH from the developer's environment: nothing else may change what the CLI does.
  const child = spawn(process.execPath, [CHAT, ...args], { env: { PATH: process.env.PATH ?? '' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, stdout: () => out, stderr: () => err, exited: () => within(exit, EXIT_MS, `chat ${args.join(' ')} to exit`) };
}

/** A ws client that joined `room` and saw its welcome, so it receives what is said there from now. */
async function member(url: string, room: string, name: string): Promise<TestClient> {
  const c = await TestClient.connect(url);
  c.send({ type: 'join', room, name });
  await c.nextOf('welcome', 3000, (w) => w.room === room);
  return c;
}

/** Kills the CLI if a failed assertion left it running. */
async function reaped<T>(cli: Cli, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } finally {
    if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
  }
}

describe('npm run chat', () => {
  it('says each stdin line in the room, prints what the room says, and ends cleanly at the end of stdin', async () => {
    const server = await start();
    const reader = await member(server.wsUrl, 'r', 'reader');
    const cli = chat(['--url', server.wsUrl, '--room', 'r']);
    await reaped(cli, async () => {
      // Written at once: the library keeps the say until the room is subscribed, then sends it.
      cli.child.stdin?.write('hello from the cli\n');
      const heard = await reader.nextOf('message', 10_000, (m) => m.text === 'hello from the cli');
      assert.equal(heard.room, 'r');
      assert.match(String(heard.from), /^guest-/, 'anonymous: the name the server gave the CLI');
      // Its own copy on stdout (the acknowledgement) means it is subscribed: it hears what follows.
      await until('the CLI to print its own message', () => cli.stdout().includes(`[r] ${String(heard.from)}: hello from the cli\n`), 5000);
      reader.send({ type: 'say', text: 'hello from ws' });
      await until('the CLI to print the ws client message', () => cli.stdout().includes('[r] reader: hello from ws\n'), 5000);
      assert.deepEqual(cli.stdout().trim().split('\n'), [`[r] ${String(heard.from)}: hello from the cli`, '[r] reader: hello from ws'], 'stdout holds messages and nothing else');
      assert.match(cli.stderr(), /^state: open$/m);
      assert.match(cli.stderr(), /^\[r\] subscribed$/m);

      cli.child.stdin?.end();
      assert.deepEqual(await cli.exited(), { code: 0, signal: null });
      await until('the server to log the close', () => server.logs.some((l) => l.msg === 'socket closed' && l.code === 1000), 3000);
    });
    reader.close();
  });

  it('at the end of stdin, says still waiting are sent and acknowledged before it closes', async () => {
    const server = await start();
    const reader = await member(server.wsUrl, 'late', 'reader');
    const cli = chat(['--url', server.wsUrl, '--room', 'late']);
    await reaped(cli, async () => {
      // Ends before the CLI has even connected: the lines must not be lost.
      cli.child.stdin?.end('one\ntwo\n');
      assert.deepEqual(await cli.exited(), { code: 0, signal: null });
      for (const text of ['one', 'two']) await reader.nextOf('message', 3000, (m) => m.text === text);
      assert.doesNotMatch(cli.stderr(), /say failed/);
    });
    reader.close();
  });

  it('a line the server would refuse is not sent, and the CLI stays connected', async () => {
    const server = await start();
    const reader = await member(server.wsUrl, 'r', 'reader');
    const cli = chat(['--url', server.wsUrl, '--room', 'r']);
    await reaped(cli, async () => {
      // An escape sequence: sent, the server would close the socket with 1008, for good.
      cli.child.stdin?.write('bad \u001b[31m text\nafter\n');
      await reader.nextOf('message', 10_000, (m) => m.text === 'after');
      assert.match(cli.stderr(), /^not sent: /m);
      assert.doesNotMatch(cli.stderr(), /state: closed/);
      cli.child.kill('SIGINT');
      assert.deepEqual(await cli.exited(), { code: 0, signal: null });
    });
    reader.close();
  });

  it("with --token: follows the user's @me; a say the server refuses prints its reason", async () => {
    const server = await start({ identity: parseIdentityConfig({ AUTH_JWT_SECRET: SECRET }) });
    const cli = chat(['--url', server.wsUrl, '--room', '@me', '--token', await hs256({ sub: 'alice', name: 'Alice' })]);
    await reaped(cli, async () => {
      await until('the CLI to subscribe', () => cli.stderr().includes('[@me] subscribed'), 10_000);
      assert.match(cli.stderr(), /^connected as Alice \(alice\)$/m);
      // Nobody says into @me: refused by the server, the say's promise rejects with the reason.
      cli.child.stdin?.write('to myself\n');
      await until('the refusal', () => cli.stderr().includes('say failed: forbidden'), 5000);
      cli.child.stdin?.end();
      assert.deepEqual(await cli.exited(), { code: 0, signal: null });
    });
  });

  it('a room it may not follow: one line saying why, exit 1', async () => {
    const server = await start();
    const cli = chat(['--url', server.wsUrl, '--room', '@me']);
    await reaped(cli, async () => {
      assert.deepEqual(await cli.exited(), { code: 1, signal: null });
      assert.match(cli.stderr(), /^\[@me\] cannot follow: forbidden$/m, 'anonymous: no personal channel');
    });
  });

  it('SIGINT closes the client (1000) and exits 0', async () => {
    const server = await start();
    const cli = chat(['--url', server.wsUrl, '--room', 'sig']);
    await reaped(cli, async () => {
      await until('the CLI to subscribe', () => cli.stderr().includes('[sig] subscribed'), 10_000);
      cli.child.kill('SIGINT');
      assert.deepEqual(await cli.exited(), { code: 0, signal: null });
      await until('the server to log the close', () => server.logs.some((l) => l.msg === 'socket closed' && l.code === 1000), 3000);
    });
  });

  it('--help prints the usage and exits 0', async () => {
    const cli = chat(['--help']);
    assert.deepEqual(await cli.exited(), { code: 0, signal: null });
    assert.match(cli.stdout(), /^usage: npm run chat -- --url .* --room /);
    assert.equal(cli.stderr(), '');
  });

  it('an unknown flag prints one line naming it and exits 2', async () => {
    const cli = chat(['--url', 'ws://127.0.0.1:1/ws', '--room', 'r', '--colour', 'red']);
    assert.deepEqual(await cli.exited(), { code: 2, signal: null });
    assert.equal(cli.stderr(), 'unknown flag: --colour (see --help)\n');
    assert.equal(cli.stdout(), '');
  });
});
