// Two instances of the real service (node src/main.ts) on a real Redis Cluster: three Debian
// redis-server primaries, each with a replica, in cluster mode on loopback, joined with
// `redis-cli --cluster create`, in a temp dir of the test's own. REDIS_URL names a node that does
// not hold the broker's slot, so every command is redirected (MOVED) at first; then the slot is
// migrated to another primary under traffic, and that primary is killed (its replica takes over).
// Chat across instances, replay with `since`, presence counts, and no CROSSSLOT anywhere.
// Needs redis-server and redis-cli (apt-get install redis-server); a missing one fails the suite.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chatLoad, ChatPeer, until } from '../helpers/chat.ts';
import { TestClient } from '../helpers/client.ts';
import { assertReplay } from '../helpers/redis.ts';
import { freePort, runService, type Service } from '../helpers/process.ts';

const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
const REDIS_CLI = process.env.REDIS_CLI ?? '/usr/bin/redis-cli';
const HISTORY_SIZE = 20;
/** What every key of the broker carries: one hash slot for all of them. */
const TAG = '{socketship}';

function cli(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 15_000 }, (err, stdout, stderr) => (err ? reject(new Error(`redis-cli ${args.join(' ')}: ${err.message} ${stderr}`)) : resolve(stdout.trim())));
  });
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A node needs its port and its cluster bus port (port + 10000) free. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await canBind(port)) && (await canBind(port + 10_000))) {
      taken.add(port).add(port + 10_000);
      return port;
    }
  }
  throw new Error('no free port pair for a cluster node');
}

interface Node {
  port: number;
  id: string;
  child: ChildProcess;
  primary: boolean;
}

let dir = '';
const nodes: Node[] = [];
const services: Service[] = [];
const peers: ChatPeer[] = [];

function peer(opts: ConstructorParameters<typeof ChatPeer>[0]): ChatPeer {
  const p = new ChatPeer(opts);
  peers.push(p);
  return p;
}

async function startCluster(): Promise<void> {
  const taken = new Set<number>();
  for (let i = 0; i < 6; i++) {
    const port = await clusterPort(taken);
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'];
    const child = spawn(REDIS_SERVER, args, { stdio: 'ignore' });
    nodes.push({ port, id: '', child, primary: false });
    await until(`cluster node ${port} to answer PING`, async () => (await cli(port, 'PING').catch(() => '')) === 'PONG', 10_000);
  }
  await cli(nodes[0]!.port, '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes');
  for (const n of nodes) {
    n.id = await cli(n.port, 'CLUSTER', 'MYID');
    await until(`cluster_state:ok on ${n.port}`, async () => (await cli(n.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'), 15_000);
  }
  // Every node must know every other one, with its role, before the test relies on the map.
  await until('three primaries and three replicas seen by every node', async () => {
    for (const asked of nodes) {
      const roles = (await cli(asked.port, 'CLUSTER', 'NODES')).split('\n').map((line) => (line.split(' ')[2] ?? '').split(','));
      if (roles.filter((f) => f.includes('master')).length !== 3 || roles.filter((f) => f.includes('slave')).length !== 3) return false;
    }
    return true;
  }, 15_000);
  for (const line of (await cli(nodes[0]!.port, 'CLUSTER', 'NODES')).split('\n')) {
    const [id, , flags] = line.split(' ');
    const node = nodes.find((n) => n.id === id);
    if (node) node.primary = (flags ?? '').split(',').includes('master');
  }
}

/** The node that holds `slot`, by every node's CLUSTER NODES (they must agree). */
async function ownerOf(slot: number): Promise<Node> {
  const owners = new Set<Node>();
  for (const asked of nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null)) {
    for (const line of (await cli(asked.port, 'CLUSTER', 'NODES')).split('\n')) {
      const [id, , , , , , , , ...ranges] = line.split(' ');
      const holds = ranges.some((r) => {
        const [lo, hi = lo] = r.split('-').map(Number);
        return lo !== undefined && hi !== undefined && slot >= lo && slot <= hi;
      });
      const node = nodes.find((n) => n.id === id);
      if (holds && node) owners.add(node);
    }
  }
  assert.equal(owners.size, 1, `every node names the same owner of slot ${slot}`);
  return [...owners][0]!;
}

/** Moves `slot`, keys included, to `to`: what `redis-cli --cluster reshard` does, for one slot. */
async function migrateSlot(slot: number, from: Node, to: Node): Promise<void> {
  await cli(to.port, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', from.id);
  await cli(from.port, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', to.id);
  for (;;) {
    const keys = (await cli(from.port, 'CLUSTER', 'GETKEYSINSLOT', String(slot), '100')).split('\n').filter(Boolean);
    if (keys.length === 0) break;
    await cli(from.port, 'MIGRATE', '127.0.0.1', String(to.port), '', '0', '5000', 'KEYS', ...keys);
  }
  for (const n of [to, from, ...nodes.filter((x) => x.primary && x !== to && x !== from)]) await cli(n.port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id);
  await until('every node agrees on the new owner', async () => (await ownerOf(slot).catch(() => undefined)) === to, 10_000);
}

async function readyz(port: number): Promise<number> {
  return fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => -1);
}

async function instance(url: string, extra: Record<string, string> = {}): Promise<{ port: number; ws: string; service: Service }> {
  const port = await freePort();
  const service = runService({ PORT: String(port), HOST: '127.0.0.1', REDIS_URL: url, REDIS_CLUSTER: 'true', LOG_LEVEL: 'debug', HISTORY_SIZE: String(HISTORY_SIZE), PRESENCE_TTL_MS: '3000', RATE_LIMIT_PER_SEC: '200', SHUTDOWN_TIMEOUT_MS: '2000', ...extra });
  services.push(service);
  return { port, ws: `ws://127.0.0.1:${port}/ws`, service };
}

let slot = 0;
let entry: Node;
let a: Awaited<ReturnType<typeof instance>>;
let b: Awaited<ReturnType<typeof instance>>;

before(async () => {
  for (const tool of [REDIS_SERVER, REDIS_CLI]) if (!existsSync(tool)) throw new Error(`${tool} not found: install redis-server (Debian: apt-get install redis-server) or set REDIS_SERVER / REDIS_CLI`);
  dir = mkdtempSync(join(tmpdir(), 'socketship-cluster-'));
  await startCluster();
  slot = Number(await cli(nodes[0]!.port, 'CLUSTER', 'KEYSLOT', `${TAG}:presence:events`));
  const owner = await ownerOf(slot);
  // The service is pointed at a primary that does not hold its keys: it must follow MOVED.
  entry = nodes.find((n) => n.primary && n !== owner)!;
  const url = `redis://127.0.0.1:${entry.port}`;
  [a, b] = [await instance(url), await instance(url)];
  await until('both instances ready on the cluster', async () => (await readyz(a.port)) === 200 && (await readyz(b.port)) === 200, 15_000);
});

after(async () => {
  for (const p of peers) p.kill();
  for (const s of services) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  await Promise.all(services.map((s) => s.exited));
  await Promise.all(
    nodes.map((n) => {
      if (n.child.exitCode !== null || n.child.signalCode !== null) return undefined;
      const exited = new Promise((r) => n.child.once('exit', r));
      n.child.kill('SIGKILL');
      return exited;
    }),
  );
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('two instances on a Redis Cluster of three primaries with a replica each', () => {
  it('chat across instances, presence counts, and every key in the one slot of the hash tag', async () => {
    const room = 'shared';
    const alice = peer({ urls: [a.ws], room, name: 'alice' });
    const bob = peer({ urls: [b.ws], room, name: 'bob' });
    await alice.start();
    await bob.start();
    await until('presence 2 on both instances', () => alice.members === 2 && bob.members === 2, 5000);
    for (let i = 0; i < 20; i++) (i % 2 ? alice : bob).say(`m${i}`);
    await until('20 messages on both', () => alice.received.length === 20 && bob.received.length === 20, 5000);
    assert.deepEqual(alice.received, bob.received, 'same messages, same ids, same order');
    assert.deepEqual([...alice.duplicates, ...alice.outOfOrder], []);

    const carol = await TestClient.connect(b.ws);
    carol.send({ type: 'join', room, name: 'carol' });
    await until('presence 3 seen on the other instance', () => alice.members === 3, 5000);
    carol.close();
    await until('presence back to 2', () => alice.members === 2 && bob.members === 2, 5000);

    const owner = await ownerOf(slot);
    const keys = (await cli(owner.port, '--scan', '--pattern', '*')).split('\n').filter(Boolean);
    assert.ok(keys.includes(`${TAG}:room:${room}`) && keys.includes(`${TAG}:presence:events`) && keys.includes(`${TAG}:presence:instances`), keys.join(' '));
    for (const key of keys) assert.ok(key.startsWith(`${TAG}:`), `${key} carries the hash tag`);
    for (const n of nodes.filter((x) => x.primary && x !== owner)) assert.equal(await cli(n.port, 'DBSIZE'), '0', `no key on primary ${n.port}`);
    alice.stop();
    bob.stop();
  });

  it('join with since replays from the cluster: exact, or marked truncated past HISTORY_SIZE', async () => {
    const room = 'replay';
    const writer = peer({ urls: [a.ws], room, name: 'writer' });
    await writer.start();
    await assertReplay(writer, b.ws, room, HISTORY_SIZE);
    writer.stop();
  });

  it('the slot migrated to another node under traffic: chat goes on, nothing lost or repeated', async () => {
    const room = 'moving';
    const p = peer({ urls: [a.ws], room, name: 'p' });
    const q = peer({ urls: [b.ws], room, name: 'q' });
    await p.start();
    await q.start();
    await until('presence 2', () => p.members === 2 && q.members === 2, 5000);
    const load = chatLoad([p, q], 20, 500, (i, n) => `${i ? 'q' : 'p'}${n}`);
    await sleep(300);
    const from = await ownerOf(slot);
    const to = nodes.find((n) => n.primary && n !== from && n !== entry)!;
    await migrateSlot(slot, from, to);
    assert.equal((await ownerOf(slot)).port, to.port);
    await sleep(1000);
    await load.stop();
    await until('every message acknowledged', () => p.acked.size === p.sent.length && q.acked.size === q.sent.length, 15_000);
    const all = [...p.acked, ...q.acked];
    await until('both peers have every message', () => p.received.length >= all.length && q.received.length >= all.length, 10_000);
    assert.deepEqual([...p.duplicates, ...p.outOfOrder, ...q.duplicates, ...q.outOfOrder], []);
    assert.deepEqual(p.texts(), q.texts(), 'the same order on both instances');
    assert.deepEqual(all.filter((t) => !p.texts().includes(t)), []);
    assert.deepEqual([...p.closes, ...q.closes], [], 'sockets stayed open');
    // A room joined after the move is read from the new node too.
    const late = peer({ urls: [b.ws], room: 'after-move', name: 'late' });
    await late.start();
    late.say('hello');
    await until('the late room works', () => late.acked.has('hello'), 5000);
    console.log(`# slot ${slot} moved from ${from.port} to ${to.port} under traffic: ${all.length} messages, none lost or repeated`);
    p.stop();
    q.stop();
    late.stop();
  });

  it('the primary holding the slot killed: its replica takes over, the instances follow, chat resumes in order', async () => {
    const room = 'failover';
    const p = peer({ urls: [a.ws], room, name: 'p' });
    const q = peer({ urls: [b.ws], room, name: 'q' });
    await p.start();
    await q.start();
    await until('presence 2', () => p.members === 2 && q.members === 2, 5000);
    const chat = async (label: string, n: number): Promise<void> => {
      for (let i = 0; i < n; i++) (i % 2 ? p : q).say(`${label}${i}`);
      await until(`${label}: every message on both`, () => p.received.length === q.received.length && p.received.length === p.sent.length + q.sent.length, 15_000);
    };
    await chat('before', 20);
    // Replication is asynchronous (a failover can lose the last writes: Redis's durability, not
    // the broker's); let the replica catch up so that what is checked here is the broker.
    const victim = await ownerOf(slot);
    await until('the replica caught up', async () => {
      const info = await cli(victim.port, 'INFO', 'replication');
      const master = /master_repl_offset:(\d+)/.exec(info)?.[1];
      return master !== undefined && new RegExp(`slave0:.*offset=${master},`).test(info);
    }, 5000);
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await until('both instances not ready', async () => (await readyz(a.port)) === 503 && (await readyz(b.port)) === 503, 5000);
    await until('both instances ready on the new primary', async () => (await readyz(a.port)) === 200 && (await readyz(b.port)) === 200, 25_000);
    const back = Date.now() - killedAt;
    const promoted = await ownerOf(slot);
    assert.notEqual(promoted, victim);
    await chat('after', 20);
    assert.deepEqual([...p.duplicates, ...p.outOfOrder, ...q.duplicates, ...q.outOfOrder], []);
    assert.deepEqual(p.texts(), q.texts(), 'the same order on both instances');
    assert.deepEqual([...p.closes, ...q.closes], [], 'sockets stayed open');
    console.log(`# primary ${victim.port} killed, replica ${promoted.port} promoted: both instances ready again after ${back} ms, chat resumed`);
    p.stop();
    q.stop();
  });

  it('no CROSSSLOT in any log; a single client on the cluster is told to set REDIS_CLUSTER', async () => {
    const single = await instance(`redis://127.0.0.1:${entry.port}`, { REDIS_CLUSTER: 'false' });
    const moved = (): boolean => /MOVED [^"]*set REDIS_CLUSTER=true/.test(single.service.stdout());
    await until('the MOVED hint in the single client log', moved, 10_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${single.service.stdout().slice(-2000)}`);
    });
    for (const s of [a, b]) {
      const logs = s.service.stdout() + s.service.stderr();
      assert.ok(logs.includes('"cluster":true'), 'the instance says it runs on a cluster');
      assert.doesNotMatch(logs, /CROSSSLOT/);
    }
  });
});
