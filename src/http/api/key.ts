import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Checks `Authorization: Bearer <API_KEY>` in constant time: both sides are hashed first, so the
 * comparison takes as long for a wrong length as for a wrong last character.
 */
export function createKeyCheck(apiKey: string): (req: IncomingMessage) => boolean {
  const expected = createHash('sha256').update(apiKey).digest();
  return (req) => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer +(\S+) *$/i.exec(header);
    const given = createHash('sha256').update(match?.[1] ?? '').digest();
    return timingSafeEqual(given, expected) && match !== null;
  };
}
