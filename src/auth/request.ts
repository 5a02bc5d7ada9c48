import type { IncomingMessage } from 'node:http';
import { bearerToken } from '../request/bearer.ts';

/** Longer than any real access token (Entra ID's are under 4 KB): refused before any parsing. */
export const TOKEN_MAX_BYTES = 8192;

/**
 * The token of an upgrade: `Authorization: Bearer <jwt>` (non-browser clients), else the
 * `access_token` query parameter (browsers cannot set headers on a WebSocket, RFC 6750 2.3).
 */
export function tokenOf(req: IncomingMessage): string | undefined {
  const header = bearerToken(req.headers.authorization);
  if (header !== undefined) return header;
  const url = req.url ?? '';
  const q = url.indexOf('?');
  if (q === -1) return undefined;
  const token = new URLSearchParams(url.slice(q + 1)).get('access_token');
  return token ?? undefined;
}
