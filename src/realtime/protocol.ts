// The wire protocol in one place: untrusted frames become typed messages (or the
// close code and reason that refuse them), and typed messages become frames.

export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  unsupportedData: 1003,
  invalidPayload: 1007,
  policyViolation: 1008,
  messageTooBig: 1009,
  tryAgainLater: 1013,
  pongTimeout: 4000,
} as const;

export const CloseReason = {
  done: 'Done',
  shuttingDown: 'Server shutting down',
  unexpectedMessage: 'Unexpected message',
  expectedPong: "Expected 'pong'",
  rateLimited: 'Rate limit exceeded',
  slowConsumer: 'Slow consumer',
  pongTimeout: 'Pong timeout',
} as const;

/** Close codes after which a client should not reconnect on its own. */
export const NO_RETRY_CODES: ReadonlySet<number> = new Set([CloseCode.normal, CloseCode.unsupportedData, CloseCode.policyViolation]);

export const ROOM_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const NAME_MAX = 32;
export const TEXT_MAX = 2000;
export const DEFAULT_ROOM = 'lobby';

export type Inbound =
  | { type: 'pong' }
  | { type: 'join'; room: string; name: string; since?: string }
  | { type: 'say'; text: string };

export type Refusal = { code: number; reason: string };
export type Parsed = { ok: true; message: Inbound } | ({ ok: false } & Refusal);

const PONG = Buffer.from('pong');
const PARSED_PONG: Parsed = { ok: true, message: { type: 'pong' } };

function refuse(code: number, reason: string): Parsed {
  return { ok: false, code, reason };
}

const invalid = (field: string): Parsed => refuse(CloseCode.policyViolation, `Invalid field: ${field}`);

/** Length in user-visible code points, not UTF-16 units, so emoji count once. */
function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    // a high surrogate followed by a low one is a single character
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < s.length) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

// Printable: no control, format, line or paragraph separator characters; not only blanks.
const PRINTABLE = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u;
// Chat text may span lines, but carries no other control characters.
const TEXT_CHARS = /^[^\p{Cc}\p{Zl}\p{Zp}]*$/u;
const TEXT_CONTROL_OK = /[\n\t]/g;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `data` is a whole message: `ws` has already reassembled fragments, enforced the size
 * limit (1009) and checked UTF-8 (1007) before this sees it.
 */
export function parseFrame(data: Buffer, isBinary: boolean): Parsed {
  if (isBinary) return refuse(CloseCode.unsupportedData, CloseReason.unexpectedMessage);
  if (data.length === 4 && data.equals(PONG)) return PARSED_PONG;
  // Only a JSON object can be a chat message; anything else is a wrong answer to ping.
  if (data.length === 0 || data[0] !== 0x7b /* { */) return refuse(CloseCode.policyViolation, CloseReason.expectedPong);
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch {
    return refuse(CloseCode.policyViolation, CloseReason.expectedPong);
  }
  if (!isObject(value)) return refuse(CloseCode.policyViolation, CloseReason.expectedPong);
  switch (value.type) {
    case 'join':
      return parseJoin(value);
    case 'say':
      return parseSay(value);
    default:
      return refuse(CloseCode.policyViolation, CloseReason.expectedPong);
  }
}

function parseJoin(value: Record<string, unknown>): Parsed {
  const { room, name, since } = value;
  if (typeof room !== 'string' || !ROOM_PATTERN.test(room)) return invalid('room');
  if (typeof name !== 'string' || !PRINTABLE.test(name) || name.trim() === '' || codePoints(name) > NAME_MAX) return invalid('name');
  if (since === undefined || since === null) return { ok: true, message: { type: 'join', room, name } };
  // A message id: the in-process broker's counter (17) or a Redis stream id (1700000000000-0).
  if (typeof since !== 'string' || !/^\d{1,20}(-\d{1,20})?$/.test(since)) return invalid('since');
  return { ok: true, message: { type: 'join', room, name, since } };
}

function parseSay(value: Record<string, unknown>): Parsed {
  const { text } = value;
  if (typeof text !== 'string' || text.length === 0 || codePoints(text) > TEXT_MAX) return invalid('text');
  if (!TEXT_CHARS.test(text.replace(TEXT_CONTROL_OK, ' '))) return invalid('text');
  return { ok: true, message: { type: 'say', text } };
}

// ---- outbound -------------------------------------------------------------------------

export interface ChatMessage {
  id: string;
  room: string;
  from: string;
  text: string;
  ts: number;
}

export const PING_FRAME = Buffer.from('ping');

/** Encoded once per broadcast and written to every recipient as the same bytes. */
export function encode(message: Outbound): Buffer {
  return Buffer.from(JSON.stringify(message));
}

export type Outbound =
  | { type: 'welcome'; id: string; room: string; name: string }
  | ({ type: 'message' } & ChatMessage)
  | { type: 'presence'; room: string; members: number }
  /** Answers a join with `since`: `count` replayed `message` frames follow, then the live ones. */
  | { type: 'history'; room: string; since: string; truncated: boolean; count: number };
