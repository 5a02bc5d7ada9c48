import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { bearerToken } from '../../request/bearer.ts';

/**
 * Checks `Authorization: Bearer <API_KEY>` in constant time: both sides are hashed first, so the
 * comparison takes as long for a wrong length as for a wrong last character.
 */
export function createKeyCheck(apiKey: string): (req: IncomingMessage) => boolean {
  const expected = createHash('sha256').update(apiKey).digest();
  return (req) => {
    const token = bearerToken(req.headers.authorization) ?? '';
    const given = createHash('sha256').update(token).digest();
    return timingSafeEqual(given, expected) && token !== '';
  };
}
