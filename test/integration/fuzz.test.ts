// A seeded frame fuzzer: fast-check mutates valid frames (opcode, FIN, RSV bits, mask, length
// field, payload bytes) and writes them raw under real `ws` clients against a live server. The
// server never crashes, every socket ends with a close code from README's table (or the one the
// fuzzed client sent itself), the witness pair hears every message, and memory returns near its
// baseline. Bounded in count (FUZZ_SOCKETS) and time (FUZZ_BUDGET_MS). FUZZ_SEED replays a run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { attacker, frame, OP, Witness, writeRaw } from '../helpers/hostile.ts';
import { VALID_PAYLOADS } from '../helpers/payloads.ts';
import { serverPool } from '../helpers/server.ts';
import { heapAfterGc } from '../helpers/heap.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 1414);
const SOCKETS = Number(process.env.FUZZ_SOCKETS ?? 1500);
const PARALLEL = 24;
const BUDGET_MS = Number(process.env.FUZZ_BUDGET_MS ?? 40_000);
/** README's close-code table: what the server itself may close with. */
const TABLE = new Set([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1011, 1013, 4000]);

const server = serverPool({ pingIntervalMs: 100, pongTimeoutMs: 300, maxMessageBytes: 4096, refusalLogPerSec: 5 });

interface FuzzFrame {
  opcode: number;
  fin: boolean;
  rsv: number;
  mask: boolean;
  payload: Uint8Array;
  /** Claimed length when it lies (shorter, longer, 16- or 64-bit forms). */
  length: bigint | null;
  flips: { at: number; xor: number }[];
}

const payload = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...VALID_PAYLOADS).map((s) => new Uint8Array(Buffer.from(s))) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 100 }).map((s) => new Uint8Array(Buffer.from(s))) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 5000 }).map((code) => new Uint8Array([code >> 8, code & 0xff])) },
);

const fuzzFrame: fc.Arbitrary<FuzzFrame> = fc.record({
  opcode: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(OP.text, OP.ping, OP.pong, OP.continuation, OP.close, OP.binary) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) }),
  fin: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  rsv: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(0x10, 0x20, 0x40, 0x70) }),
  mask: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  payload,
  length: fc.option(fc.oneof(fc.bigInt({ min: 0n, max: 300n }), fc.constantFrom(65_535n, 70_000n, 1n << 40n, 1n << 63n, (1n << 64n) - 1n)), { freq: 8 }),
  flips: fc.array(fc.record({ at: fc.nat(40), xor: fc.integer({ min: 1, max: 255 }) }), { maxLength: 2 }),
});

function bytesOf(f: FuzzFrame): Buffer {
  const b = frame(f.opcode, Buffer.from(f.payload), { fin: f.fin, rsv: f.rsv, mask: f.mask, ...(f.length === null ? {} : { length: f.length }) });
  for (const { at, xor } of f.flips) if (at < b.length) b[at] = (b[at] ?? 0) ^ xor;
  return b;
}

test(`frame fuzzer: ${SOCKETS} sockets of mutated frames (seed ${SEED}); no crash, table codes only, memory back near baseline`, async () => {
  const s = await server();
  const witness = await Witness.start(s);
  const baseline = heapAfterGc();
  const cases = fc.sample(fc.array(fuzzFrame, { minLength: 1, maxLength: 8 }), { seed: SEED, numRuns: SOCKETS });
  const started = Date.now();
  let frames = 0;
  const codes = new Map<number, number>();
  const bad: string[] = [];

  async function one(sequence: FuzzFrame[], index: number): Promise<void> {
    const c = await attacker(s);
    frames += sequence.length;
    writeRaw(c, Buffer.concat(sequence.map(bytesOf)));
    // Still open after a moment (the frames were acceptable, or one is waiting for bytes that never
    // come): close properly; a server stuck on a partial frame closes with 4000 at the pong timeout.
    const early = await c.closedWithin(150).catch(() => undefined);
    if (!early) c.ws.close(1000);
    const { code } = early ?? (await c.closedWithin(3000));
    codes.set(code, (codes.get(code) ?? 0) + 1);
    const sentClose = sequence.some((f) => (f.opcode & 0x0f) === OP.close || f.flips.length > 0);
    const allowed = TABLE.has(code) || (sentClose && (code === 1005 || (code >= 1000 && code < 5000 && code !== 1006)));
    if (!allowed) bad.push(`case ${index}: closed with ${code} after ${JSON.stringify(sequence.map((f) => bytesOf(f).subarray(0, 16).toString('hex')))}`);
  }

  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < cases.length && Date.now() - started < BUDGET_MS) {
        const i = next++;
        await one(cases[i] ?? [], i);
      }
    }),
  );
  const elapsed = Date.now() - started;
  console.log(`fuzz: seed ${SEED}, ${next} sockets, ${frames} frames in ${elapsed} ms; close codes ${JSON.stringify(Object.fromEntries(codes))}`);
  assert.deepEqual(bad, [], 'sockets that ended with a code outside the table');
  assert.ok(next >= Math.min(SOCKETS, 100), `only ${next} sockets within ${BUDGET_MS} ms`);
  assert.equal((await fetch(`${s.url}/healthz`)).status, 200, 'the server still answers');
  await witness.stop();
  const grown = heapAfterGc() - baseline;
  console.log(`fuzz: heap ${(baseline / 2 ** 20).toFixed(1)} MB before, ${(grown / 2 ** 20).toFixed(1)} MB more after`);
  assert.ok(grown < 16 * 2 ** 20, `heap grew by ${(grown / 2 ** 20).toFixed(1)} MB`);
});
