// Untrusted frames become typed messages here, or the close code and reason that refuse them.
// This is the only place a client's frame is read.
import { CloseCode, CloseReason } from './close.ts';
import { isRecord } from './guards.ts';
import { parseId } from './ids.ts';
import { NAME_MAX, ROOM_PATTERN, TEXT_MAX } from './limits.ts';
import type { Inbound } from './messages.ts';
import { isValidName, isValidText, normaliseText } from './text.ts';

export type Refusal = { code: number; reason: string };
export type Parsed = { ok: true; message: Inbound } | ({ ok: false } & Refusal);

const PONG = Buffer.from('pong');
const PARSED_PONG: Parsed = { ok: true, message: { type: 'pong' } };
const PARSED_TYPING: Parsed = { ok: true, message: { type: 'typing' } };

function refuse(code: number, reason: string): Parsed {
  return { ok: false, code, reason };
}

const invalid = (field: string): Parsed => refuse(CloseCode.policyViolation, `Invalid field: ${field}`);

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
  if (!isRecord(value)) return refuse(CloseCode.policyViolation, CloseReason.expectedPong);
  switch (value.type) {
    case 'join':
      return parseJoin(value);
    case 'say':
      return parseSay(value);
    case 'typing':
      return PARSED_TYPING;
    default:
      return refuse(CloseCode.policyViolation, CloseReason.expectedPong);
  }
}

function parseJoin(value: Record<string, unknown>): Parsed {
  const { room, name, since } = value;
  if (typeof room !== 'string' || !ROOM_PATTERN.test(room)) return invalid('room');
  if (typeof name !== 'string' || !isValidName(name, NAME_MAX)) return invalid('name');
  if (since === undefined || since === null) return { ok: true, message: { type: 'join', room, name } };
  // A message id: the in-process broker's counter (17) or a Redis stream id (1700000000000-0).
  if (typeof since !== 'string' || !parseId(since)) return invalid('since');
  return { ok: true, message: { type: 'join', room, name, since } };
}

function parseSay(value: Record<string, unknown>): Parsed {
  if (typeof value.text !== 'string') return invalid('text');
  const text = normaliseText(value.text);
  if (!isValidText(text, TEXT_MAX)) return invalid('text');
  return { ok: true, message: { type: 'say', text } };
}
