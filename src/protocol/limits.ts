// Limits of the protocol itself (configuration sets the rest: message size, rate, buffers).

export const ROOM_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** ROOM_PATTERN as an HTML `pattern` attribute (anchored by the browser; valid under the `v` flag). */
export const ROOM_PATTERN_HTML = '[A-Za-z0-9_\\-]{1,64}';
/** A room-set entry that is a pattern: a room name's start followed by one `*` (`team-*`). */
export const ROOM_PREFIX_PATTERN = /^[A-Za-z0-9_-]{0,63}\*$/;
/** A user id (`sub`): the token's, or the server API's path segment. */
export const SUB_MAX = 255;
/** Display names, in code points. */
export const NAME_MAX = 32;
/** Chat text, in code points. */
export const TEXT_MAX = 2000;
/** A socket's token bucket holds this many seconds' worth of its rate: short bursts pass. */
export const RATE_BURST_SECONDS = 2;
/** Typing: a typist counts as typing this long after its last `typing` message. */
export const TYPING_TTL_MS = 3000;
/** Typing: a room's members hear about its typists at most once per this interval. */
export const TYPING_FLUSH_MS = 500;
/** Typing: names listed in one frame; the rest are counted in `others`. */
export const TYPING_NAMES_MAX = 5;
/** Typing: names one instance reports for a room per flush (more typists than this in one room are not counted). */
export const TYPING_REPORT_MAX = 1000;
/** Server API: members listed per room per instance (the count is always exact). */
export const ROSTER_MAX = 1000;
/** Fragments one message may arrive in: past it `ws` closes with 1008, so empty fragments cannot stream forever. */
export const MAX_FRAGMENTS = 1024;
/** An idempotency key on `say`: 1-64 of the base64url alphabet (a UUID, a nanoid, a counter). */
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Idempotency keys a room remembers at most (the oldest are forgotten first). */
export const IDEMPOTENCY_KEYS_PER_ROOM = 1000;
/** Idempotency keys one in-process broker remembers at most, over every room. */
export const IDEMPOTENCY_KEYS_MAX = 100_000;
/** A socket's replay budget holds this many seconds of REPLAY_BYTES_PER_SEC: one reconnect's replay of a full room fits. */
export const REPLAY_BURST_SECONDS = 16;
/** Replays reading the broker at once, per instance; the rest wait their turn (realtime/replay-gate.ts). */
export const MAX_REPLAYS_IN_FLIGHT = 16;
