// Token refresh without reconnecting: `{"type":"refresh","token":T}`. The new token passes every
// check of the upgrade (the same verifier) and names the same `sub`; then the socket takes its
// expiry, name and room grant, and leaves the rooms the grant no longer allows. A token that
// fails keeps the old expiry (the client may try again before it passes, then 4001); one naming
// another user closes the socket (1008): a socket never changes hands.
import { WebSocket } from 'ws';
import { mayJoin, type Identity } from '../../auth/identity.ts';
import { AuthError } from '../../auth/errors.ts';
import { TOKEN_MAX_BYTES } from '../../auth/request.ts';
import { CloseCode, CloseReason } from '../../protocol/close.ts';
import { encode } from '../../protocol/messages.ts';
import { parsed, tokenField, type Parsed } from '../../protocol/parse.ts';
import { isPersonalRoom } from '../../protocol/rooms.ts';
import type { ClientSocket } from '../session.ts';
import { inbound, type Feature, type FeatureDeps } from './feature.ts';

export function parseRefresh(fields: Record<string, unknown>): Parsed<{ token: string }> {
  const token = tokenField(fields.token, TOKEN_MAX_BYTES);
  return token.ok ? parsed({ token: token.message }) : token;
}

export function createRefresh(deps: FeatureDeps): Feature {
  const { verifyToken, subscriptions, sender, warn } = deps;

  async function refresh(socket: ClientSocket, { token }: { token: string }): Promise<void> {
    const { session } = socket;
    const before = session.identity;
    // Anonymous mode: there is no token to renew.
    if (!verifyToken || !before) return deps.deny(socket, 'forbidden');
    let identity: Identity;
    try {
      identity = await verifyToken(token);
    } catch (err) {
      // The reason, never the token: it is a credential.
      warn({ connId: session.id, sub: before.sub, reason: err instanceof AuthError ? err.reason : 'token_invalid' }, 'token refresh refused');
      sender.sendNow(socket, encode({ type: 'error', reason: 'token_invalid' }), 'error');
      return;
    }
    if (socket.readyState !== WebSocket.OPEN) return;
    if (identity.sub !== before.sub) return deps.refuse(socket, CloseCode.policyViolation, CloseReason.subjectChanged);
    session.identity = identity;
    session.expiresAt = identity.expiresAt;
    session.name = identity.name;
    sender.sendNow(socket, encode({ type: 'refreshed', expiresAt: identity.expiresAt }), 'refreshed');
    for (const room of [...session.follows]) {
      if (!isPersonalRoom(room) && !mayJoin(identity, room)) void subscriptions.unsubscribe(socket, room, 'forbidden');
    }
  }

  return { name: 'refresh', inbound: { refresh: inbound(parseRefresh, (socket, message) => void refresh(socket, message)) } };
}
