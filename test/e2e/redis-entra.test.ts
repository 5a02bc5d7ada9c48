// Microsoft Entra ID authentication to Redis (REDIS_AUTH=entra-id), for real against local
// stand-ins (test/helpers/entra-standins.ts): App Service's managed identity endpoint minting
// 6-second tokens, and a real redis-server behind a proxy that, like Azure Managed Redis, cuts a
// connection whose token expires before it re-authenticates. Two instances of the real service
// (one system-assigned, one user-assigned identity) chat through it for three token lifetimes.
// Needs redis-server and redis-cli (apt-get install redis-server); a missing one fails the suite.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseConfig } from '../../src/config/config.ts';
import { ChatPeer, until } from '../helpers/chat.ts';
import { identityEndpoint, tokenProxy, type IdentityEndpoint, type TokenProxy } from '../helpers/entra-standins.ts';
import { freePort, MAIN, type Service } from '../helpers/process.ts';

const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
const REDIS_CLI = process.env.REDIS_CLI ?? '/usr/bin/redis-cli';
const TTL_S = 6;
const OID_SYSTEM = '11111111-2222-3333-4444-555555555555';
const OID_USER = '66666666-7777-8888-9999-000000000000';
const USER_CLIENT_ID = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const OID_FLAKY = '12121212-3434-5656-7878-909090909090';
const FLAKY_CLIENT_ID = 'ffffffff-eeee-dddd-cccc-bbbbbbbbbbbb';
const ADMIN = `admin-${process.pid}`;

let dir = '';
let redisPort = 0;
let redis: ChildProcess | undefined;
let idp: IdentityEndpoint;
let proxy: TokenProxy;
const services: Service[] = [];
const peers: ChatPeer[] = [];
const timers: NodeJS.Timeout[] = [];

function cli(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(redisPort), '--user', 'default', '--pass', ADMIN, '--no-auth-warning', ...args], { timeout: 10_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout.trim())));
  });
}

/** The real entry point, with a resolve hook that reports every @azure/* or @redis/entraid module it loads. */
function service(env: Record<string, string>): Service {
  const hook = join(dir, 'trace-azure.mjs');
  const child = spawn(process.execPath, ['--import', hook, MAIN], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const s: Service = { child, stdout: () => out, stderr: () => err, exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))) };
  services.push(s);
  return s;
}

async function instance(extra: Record<string, string>): Promise<{ port: number; ws: string; service: Service }> {
  const port = await freePort();
  const s = service({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'debug', REDIS_URL: `redis://127.0.0.1:${proxy.port}`, REDIS_AUTH: 'entra-id', IDENTITY_ENDPOINT: idp.url, IDENTITY_HEADER: idp.header, PRESENCE_TTL_MS: '3000', ...extra });
  await until(`instance ${port} ready`, async () => (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0)) === 200, 15_000).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${s.stdout().slice(-3000)}\n${s.stderr().slice(-2000)}`);
  });
  return { port, ws: `ws://127.0.0.1:${port}/ws`, service: s };
}

before(async () => {
  for (const tool of [REDIS_SERVER, REDIS_CLI]) if (!existsSync(tool)) throw new Error(`${tool} not found: install redis-server (Debian: apt-get install redis-server) or set REDIS_SERVER / REDIS_CLI`);
  dir = mkdtempSync(join(tmpdir(), 'socketship-entra-'));
  writeFileSync(join(dir, 'trace-azure.mjs'), `import { registerHooks } from 'node:module';
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); if (/@azure\\/|@redis\\/entraid/.test(r.url)) process.stderr.write('LOADED ' + r.url + '\\n'); return r; } });\n`);
  redisPort = await freePort();
  redis = spawn(REDIS_SERVER, ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--requirepass', ADMIN], { stdio: 'ignore' });
  await until('redis-server to answer', async () => (await cli('PING').catch(() => '')) === 'PONG', 10_000);
  idp = await identityEndpoint({
    ttlSeconds: TTL_S,
    oidFor: (clientId) => (clientId === USER_CLIENT_ID ? OID_USER : clientId === FLAKY_CLIENT_ID ? OID_FLAKY : OID_SYSTEM),
    // Azure Managed Redis takes a token as the password of the user named by its oid until it expires.
    async onMint(m) {
      await cli('ACL', 'SETUSER', m.oid, 'on', `>${m.token}`, '~*', '&*', '+@all');
      const t = setTimeout(() => void cli('ACL', 'SETUSER', m.oid, `<${m.token}`).catch(() => {}), m.expiresAt - Date.now());
      t.unref();
      timers.push(t);
    },
  });
  proxy = await tokenProxy(redisPort);
});

after(async () => {
  for (const t of timers) clearTimeout(t);
  for (const p of peers) p.kill();
  for (const s of services) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  await Promise.all(services.map((s) => s.exited));
  await proxy?.close();
  await idp?.close();
  if (redis && redis.exitCode === null) {
    const exited = new Promise((r) => redis?.once('exit', r));
    redis.kill('SIGKILL');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('REDIS_AUTH=entra-id against a managed identity endpoint and a token-checking Redis', () => {
  it('connects with the token, renews it and re-authenticates every connection before it expires, never logs it', async () => {
    const a = await instance({});
    const b = await instance({ AZURE_CLIENT_ID: USER_CLIENT_ID });
    const room = 'entra';
    const p = peer({ urls: [a.ws], room, name: 'p' });
    const q = peer({ urls: [b.ws], room, name: 'q' });
    await p.start();
    await q.start();
    const started = Date.now();
    // Three token lifetimes of chat: each connection must re-authenticate twice or be cut.
    for (let i = 0; Date.now() - started < 3 * TTL_S * 1000 && i < 400; i++) {
      (i % 2 ? p : q).say(`m${i}`);
      await sleep(100);
    }
    await until('every message acknowledged', () => p.acked.size === p.sent.length && q.acked.size === q.sent.length, 5000);
    await until('both have every message', () => p.received.length === p.sent.length + q.sent.length && q.received.length === p.received.length, 5000);
    assert.deepEqual(p.texts(), q.texts());
    assert.deepEqual([...p.closes, ...q.closes], [], 'sockets stayed open');

    assert.deepEqual(idp.refused, [], 'the identity endpoint got the App Service protocol: header, api-version, resource');
    assert.ok(idp.minted.some((m) => m.clientId === USER_CLIENT_ID) && idp.minted.some((m) => m.clientId === undefined), 'system- and user-assigned identities asked');
    const evicted = proxy.connections.filter((c) => c.evicted);
    assert.deepEqual(evicted.map((c) => c.auths), [], 'no connection outlived its token');
    const live = proxy.connections.filter((c) => c.auths.length > 0);
    assert.equal(live.length, 8, 'four connections per instance (commands, history, events reader, subscriber), never reconnected');
    for (const c of live) {
      assert.ok(c.auths.length >= 3, `handshake and two renewals: ${c.auths.length}`);
      assert.ok([OID_SYSTEM, OID_USER].includes(c.auths[0]!.user), 'the user is the oid');
      for (let i = 1; i < c.auths.length; i++) assert.ok(c.auths[i]!.at < c.auths[i - 1]!.expiresAt!, 'each AUTH before the previous token expired');
    }
    for (const s of [a, b]) {
      const metrics = await fetch(`http://127.0.0.1:${s === a ? a.port : b.port}/metrics`).then((r) => r.text());
      assert.match(metrics, /ws_broker_reconnects_total 0\b/);
      const logs = s.service.stdout() + s.service.stderr();
      for (const m of idp.minted) assert.ok(!logs.includes(m.token.split('.')[2]!), 'no token in the logs');
      assert.doesNotMatch(logs, /eyJ/, 'nothing that looks like a JWT in the logs');
      assert.match(logs, /redis credentials renewed \(entra id\)/);
      assert.match(s.service.stderr(), /LOADED .*@azure\/identity/);
    }
    console.log(`# ${idp.minted.length} tokens of ${TTL_S} s minted in ${Math.round((Date.now() - started) / 1000)} s; ${live.map((c) => c.auths.length).join('/')} AUTHs per connection; ${p.sent.length + q.sent.length} messages`);
    p.stop();
    q.stop();
  });

  it('after reconnections, one AUTH per renewal per connection (node-redis alone would add one per reconnection)', async () => {
    const c = await instance({ AZURE_CLIENT_ID: FLAKY_CLIENT_ID });
    const mine = (): typeof proxy.connections => proxy.connections.filter((x) => x.auths[0]?.user === OID_FLAKY);
    for (let i = 0; i < 3; i++) {
      const before = mine().length;
      await cli('CLIENT', 'KILL', 'USER', OID_FLAKY);
      await until('both connections back', async () => mine().length >= before + 2 && (await fetch(`http://127.0.0.1:${c.port}/readyz`).then((r) => r.status, () => 0)) === 200, 10_000);
    }
    const last = mine().slice(-2);
    await until('a renewal on the last connections', () => last.every((x) => x.auths.length >= 2), (TTL_S + 2) * 1000);
    for (const x of last) {
      const times = x.auths.map((a) => a.at);
      assert.ok(times.every((t, i) => i === 0 || t - times[i - 1]! > 500), `one AUTH per renewal, not a burst: ${times.map((t) => t - times[0]!).join(', ')} ms`);
    }
    c.service.child.kill('SIGTERM');
    assert.equal((await c.service.exited).code, 0, 'a clean exit with the token renewal armed');
  });

  it('without REDIS_AUTH=entra-id nothing of @azure/identity or @redis/entraid is loaded', async () => {
    const port = await freePort();
    const s = service({ PORT: String(port), HOST: '127.0.0.1', REDIS_URL: `redis://:${ADMIN}@127.0.0.1:${redisPort}` });
    await until('ready with the password', async () => (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0)) === 200, 15_000);
    assert.doesNotMatch(s.stderr(), /LOADED/);
    s.child.kill('SIGTERM');
    await s.exited;
  });

  it('REDIS_AUTH and AZURE_CLIENT_ID are checked at start, with their names', () => {
    const url = 'rediss://name.westeurope.redis.azure.net:10000';
    assert.equal(parseConfig({ REDIS_URL: url, REDIS_AUTH: 'entra-id' }).redisAuth, 'entra-id');
    assert.equal(parseConfig({}).redisAuth, 'password');
    for (const [env, name] of [
      [{ REDIS_URL: url, REDIS_AUTH: 'token' }, 'REDIS_AUTH'],
      [{ REDIS_URL: 'rediss://:key@name.westeurope.redis.azure.net:10000', REDIS_AUTH: 'entra-id' }, 'REDIS_AUTH'],
      [{ REDIS_AUTH: 'entra-id' }, 'REDIS_AUTH'],
      [{ REDIS_URL: url, REDIS_AUTH: 'entra-id', AZURE_CLIENT_ID: 'my-identity' }, 'AZURE_CLIENT_ID'],
      [{ REDIS_URL: url, REDIS_CLUSTER: 'sharded' }, 'REDIS_CLUSTER'],
    ] as const) {
      assert.throws(() => parseConfig(env), (err: unknown) => err instanceof Error && err.message.includes(name) && !err.message.includes(':key@'), JSON.stringify(env));
    }
  });
});

function peer(opts: ConstructorParameters<typeof ChatPeer>[0]): ChatPeer {
  const p = new ChatPeer(opts);
  peers.push(p);
  return p;
}
