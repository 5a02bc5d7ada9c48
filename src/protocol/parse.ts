// Untrusted frames become typed values here, or the close code and reason that refuse them. This
// is the only place a client's frame is read: the envelope (the seed's text `pong`, or a JSON
// object with a `type`) here, and each type's fields by the field readers below, which the
// features' parsers (src/realtime/features/) are made of.
import { CloseCode, CloseReason, type CloseReasonText } from './close.ts';
import { isRecord } from './guards.ts';
import { parseId } from './ids.ts';
import { IDEMPOTENCY_KEY_PATTERN, NAME_MAX, ROOM_PATTERN, TEXT_MAX } from './limits.ts';
import { PERSONAL_ROOM } from './rooms.ts';
import { isValidName, isValidText, normaliseText } from './text.ts';

export type Refusal = { ok: false; code: number; reason: CloseReasonText };
/** A frame's envelope: the heartbeat's answer, or a JSON object whose `type` a feature reads. */
export type Envelope = { ok: true; type: 'pong' } | { ok: true; type: string; fields: Record<string, unknown> } | Refusal;
/** A feature's reading of a frame's fields. */
export type Parsed<M> = { ok: true; message: M } | Refusal;

const PONG = Buffer.from('pong');
const PARSED_PONG: Envelope = { ok: true, type: 'pong' };

export function refusal(code: number, reason: CloseReasonText): Refusal {
  return { ok: false, code, reason };
}

/** A field that is missing or malformed: close 1008 `Invalid field: <field>`. */
export const invalid = (field: string): Refusal => refusal(CloseCode.policyViolation, `Invalid field: ${field}`);
/** A frame of no registered type: a wrong answer to ping, as the seed protocol says. */
export const EXPECTED_PONG: Refusal = refusal(CloseCode.policyViolation, CloseReason.expectedPong);

export function parsed<M>(message: M): Parsed<M> {
  return { ok: true, message };
}

/**
 * `data` is a whole message: `ws` has already reassembled fragments, enforced the size limit
 * (1009) and checked UTF-8 (1007) before this sees it.
 */
export function parseEnvelope(data: Buffer, isBinary: boolean): Envelope {
  if (isBinary) return refusal(CloseCode.unsupportedData, CloseReason.unexpectedMessage);
  if (data.length === 4 && data.equals(PONG)) return PARSED_PONG;
  // Only a JSON object can be a chat message; anything else is a wrong answer to ping.
  if (data.length === 0 || data[0] !== 0x7b /* { */) return EXPECTED_PONG;
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch {
    return EXPECTED_PONG;
  }
  if (!isRecord(value) || typeof value.type !== 'string' || value.type === 'pong') return EXPECTED_PONG;
  return { ok: true, type: value.type, fields: value };
}

/** A room a client names: ROOM_PATTERN, or `@me` (its personal channel). Absent (or null) is undefined. */
export function roomField(value: unknown, required: boolean): Parsed<string | undefined> {
  if (value === undefined || value === null) return required ? invalid('room') : parsed(undefined);
  if (typeof value !== 'string' || !(value === PERSONAL_ROOM || ROOM_PATTERN.test(value))) return invalid('room');
  return parsed(value);
}

/** A room a client joins (ROOM_PATTERN: `join` names a shared room, never `@me`). */
export function joinRoomField(value: unknown): Parsed<string> {
  if (typeof value !== 'string' || !ROOM_PATTERN.test(value)) return invalid('room');
  return parsed(value);
}

/** A message id to replay after: the in-process broker's counter (17) or a Redis stream id (1700000000000-0). */
export function sinceField(value: unknown): Parsed<string | undefined> {
  if (value === undefined || value === null) return parsed(undefined);
  if (typeof value !== 'string' || !parseId(value)) return invalid('since');
  return parsed(value);
}

export function nameField(value: unknown): Parsed<string> {
  if (typeof value !== 'string' || !isValidName(value, NAME_MAX)) return invalid('name');
  return parsed(value);
}

/** Chat text, its line breaks normalised to LF. */
export function textField(value: unknown): Parsed<string> {
  if (typeof value !== 'string') return invalid('text');
  const text = normaliseText(value);
  if (!isValidText(text, TEXT_MAX)) return invalid('text');
  return parsed(text);
}

/** An idempotency key (IDEMPOTENCY_KEY_PATTERN); absent is undefined. */
export function keyField(value: unknown): Parsed<string | undefined> {
  if (value === undefined || value === null) return parsed(undefined);
  if (typeof value !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(value)) return invalid('key');
  return parsed(value);
}

/** A token (a compact JWS): its checks are the verifier's; here only its shape and size. */
export function tokenField(value: unknown, maxBytes: number): Parsed<string> {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxBytes) return invalid('token');
  return parsed(value);
}
