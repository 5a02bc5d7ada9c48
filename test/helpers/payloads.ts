// Valid text payloads, one or more per inbound type the server registers (and `pong`): the
// fuzzer mutates them, and test/unit/registry.test.ts checks that every registered type has one,
// so a new message type is fuzzed from the day it is added.
export const VALID_PAYLOADS: readonly string[] = [
  'pong',
  '{"type":"say","text":"fuzz"}',
  '{"type":"say","text":"a\\r\\nb","room":"lobby"}',
  '{"type":"join","room":"lobby","name":"fz","since":"1"}',
  '{"type":"typing"}',
  '{"type":"typing","room":"lobby"}',
  '{"type":"subscribe","room":"fuzz-a","since":"0"}',
  '{"type":"subscribe","room":"@me"}',
  '{"type":"unsubscribe","room":"fuzz-a"}',
  '{"type":"say","text":"once","key":"k-1"}',
  '{"type":"refresh","token":"eyJhbGciOiJIUzI1NiJ9.e30.c2ln"}',
  '{"type":"name","name":"fuzzy"}',
];

/** The inbound type of a payload (`pong` for the heartbeat's answer). */
export function typeOf(payload: string): string {
  return payload.startsWith('{') ? String((JSON.parse(payload) as { type: unknown }).type) : payload;
}
