// The feature registry: what the connection code and the broker listener dispatch through. Two
// features cannot claim one type or kind, and every registered inbound type is documented (a row
// in README's protocol table) and fuzzed (a case in the fuzzer's valid payloads).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createMemoryBroker } from '../../src/broker/memory.ts';
import { systemClock } from '../../src/clock.ts';
import { createLogger } from '../../src/log/logger.ts';
import { rateLimitedWarn } from '../../src/log/rate-limited.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { denySocket, refuseSocket } from '../../src/realtime/connection.ts';
import type { Feature, FeatureDeps } from '../../src/realtime/features/feature.ts';
import { FEATURES } from '../../src/realtime/features/index.ts';
import { createRegistry } from '../../src/realtime/features/registry.ts';
import { createRooms } from '../../src/realtime/rooms.ts';
import { createSender } from '../../src/realtime/sender.ts';
import { createSlowConsumerPolicy } from '../../src/realtime/slow-consumer.ts';
import { createSubscriptions } from '../../src/realtime/subscriptions.ts';
import { createReplayGate } from '../../src/realtime/replay-gate.ts';
import { createUsers } from '../../src/realtime/users.ts';
import { createReact } from '../fixtures/react-feature.ts';
import { typeOf, VALID_PAYLOADS } from '../helpers/payloads.ts';

/** The parts a feature is made with, built as the realtime server builds them. */
function featureDeps(): FeatureDeps {
  const logger = createLogger({ level: 'silent' });
  const broker = createMemoryBroker();
  const sender = createSender(createMetrics({ processMetrics: false }), createSlowConsumerPolicy(1 << 20, logger));
  const rooms = createRooms(sender, () => {});
  const warn = rateLimitedWarn(logger, 10);
  const gate = createReplayGate({ bytesPerSec: 16384, now: () => systemClock.now() });
  const subscriptions = createSubscriptions({ broker, rooms, sender, logger, gate, isLatest: () => false });
  return {
    broker,
    rooms,
    subscriptions,
    sender,
    users: createUsers(),
    logger,
    clock: systemClock,
    maxRooms: 64,
    sayDedupeMs: 300_000,
    verifyToken: undefined,
    warn,
    deny: (socket, reason, room) => denySocket(warn, sender, socket, reason, room),
    refuse: (socket, code, reason) => refuseSocket(logger, sender, socket, code, reason),
  };
}

const registered = (): readonly string[] => {
  const registry = createRegistry(FEATURES.map((make) => make(featureDeps())));
  registry.stop();
  return registry.inboundTypes;
};

/** The `type` of every client → server row of README's protocol table. */
function documentedInbound(): string[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const protocol = readme.slice(readme.indexOf('## The protocol'), readme.indexOf('**Close codes.**'));
  return [...protocol.matchAll(/^\| client → server \| `\{"type":"([a-z_]+)"/gm)].map((m) => m[1] ?? '');
}

test('the registered inbound types are the ones the template speaks', () => {
  assert.deepEqual([...registered()].sort(), ['join', 'name', 'refresh', 'say', 'subscribe', 'typing', 'unsubscribe']);
});

test('every registered inbound type has a client → server row in README\'s protocol table, and every row a registered type', () => {
  const documented = documentedInbound();
  assert.deepEqual([...new Set(documented)].sort(), [...registered()].sort());
});

test('every registered inbound type has a case in the fuzzer\'s valid payloads (and pong one too)', () => {
  const fuzzed = new Set(VALID_PAYLOADS.map(typeOf));
  for (const type of [...registered(), 'pong']) assert.ok(fuzzed.has(type), `test/helpers/payloads.ts has no valid '${type}' payload`);
});

test('two features claiming one inbound type, ephemeral kind or control kind: the registry refuses to start, naming both', () => {
  const deps = featureDeps();
  const again = (base: Feature, name: string): Feature => ({ ...base, name });
  const react = createReact(deps);
  assert.throws(() => createRegistry([react, again(react, 'react2')]), /inbound type "react" is registered by both react and react2/);
  assert.throws(() => createRegistry([react, { name: 'other', ephemeral: { react: () => {} } }]), /ephemeral kind "react" is registered by both react and other/);
  assert.throws(() => createRegistry([{ name: 'a', control: { kick: () => {} } }, { name: 'b', control: { kick: () => {} } }]), /control kind "kick"/);
  assert.throws(() => createRegistry([{ name: 'echo', inbound: { pong: () => undefined } }]), /"pong" is the heartbeat's/);
});

test('a new feature adds its types to the registry without touching the others', () => {
  const deps = featureDeps();
  const registry = createRegistry([...FEATURES.map((make) => make(deps)), createReact(deps)]);
  assert.ok(registry.inbound('react'));
  assert.ok(registry.ephemeral('react'));
  assert.equal(registry.inbound('reaction'), undefined, 'an unregistered type is not routed');
  assert.equal(registry.ephemeral('presence'), undefined, 'the core\'s own kinds are not the features\'');
  registry.stop();
});
