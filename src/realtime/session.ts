import { WebSocket } from 'ws';
import type { Identity } from '../auth/identity.ts';
import { RATE_BURST_SECONDS } from '../protocol/limits.ts';
import { takeToken, type TokenBucket } from '../protocol/token-bucket.ts';

/**
 * One socket's state. Plain fields on one object per connection, no closures or timers,
 * because at 10k connections every per-socket byte and allocation shows. Each field has one
 * writer, named beside it.
 */
export class Session implements TokenBucket {
  readonly id: string;
  readonly ip: string;
  readonly openedAt: number;
  /** Who the socket belongs to, from its token; undefined in anonymous mode. Renewed by a `refresh` (features/refresh.ts), always with the same `sub`. */
  identity: Identity | undefined;
  /** When the token expires (heartbeat.ts closes the socket with 4001 then); Infinity without one (features/refresh.ts moves it). */
  expiresAt: number;
  /** Display name (connection.ts: the token's, or in anonymous mode the join's). */
  name: string;
  /**
   * The rooms the socket follows, by their server-side names (`@u:<sub>` for `@me`), in the order
   * it subscribed: members (rooms.ts) and those whose subscribe is still replaying history
   * (subscriptions.ts, the only writer). At most MAX_ROOMS_PER_CONNECTION.
   */
  readonly follows = new Set<string>();
  /** Where `say` and `typing` without `room` go: the room joined or subscribed last, undefined when none (subscriptions.ts). */
  current: string | undefined = undefined;
  /** Counted by connection.ts (in) and the sender (out). */
  messagesIn = 0;
  messagesOut = 0;
  /** Heartbeat sweep that sent this socket its first ping; ping k went out in sweep firstSweep + k. */
  readonly firstSweep: number;
  /** Pings answered (heartbeat.ts). */
  pongs = 0;
  /** The close code and reason the server sent first (`closing`), since `ws` reports 1006 when a peer never answers. */
  closeCode = 0;
  closeReason = '';
  /** The socket's rate limit, a token bucket (protocol/token-bucket.ts, through takeToken). */
  tokens: number;
  refilledAt: number;

  constructor(id: string, ip: string, name: string, now: number, firstSweep: number, ratePerSec: number, identity?: Identity) {
    this.id = id;
    this.ip = ip;
    this.identity = identity;
    this.expiresAt = identity?.expiresAt ?? Number.POSITIVE_INFINITY;
    this.name = identity?.name ?? name;
    this.openedAt = now;
    this.firstSweep = firstSweep;
    this.tokens = ratePerSec * RATE_BURST_SECONDS;
    this.refilledAt = now;
  }

  /** Records the first close code sent on the wire; later ones (the socket is already closing) do not count. */
  closing(code: number, reason: string): void {
    if (this.closeCode !== 0) return;
    this.closeCode = code;
    this.closeReason = reason;
  }

  /** Token bucket: `ratePerSec` tokens a second, holding RATE_BURST_SECONDS' worth. */
  takeToken(now: number, ratePerSec: number): boolean {
    return takeToken(this, now, ratePerSec);
  }
}

/** The `ws` socket class the server creates, carrying its session. */
export class ClientSocket extends WebSocket {
  session!: Session;
}
