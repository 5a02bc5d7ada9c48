import { WebSocket } from 'ws';
import type { Identity } from '../auth/identity.ts';
import type { ClosedBy } from '../metrics/metrics.ts';
import { ReportedCloseCode } from '../protocol/close.ts';
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
  /**
   * The slow-consumer time rule (slow-consumer.ts `stalled`, the only writer, once a memory-budget
   * sweep): bytes delivered at the last sweep (taken by the kernel, less what it still holds), and
   * since when output has waited with none delivered (0: nothing waits).
   */
  acceptedMark = 0;
  waitingSince = 0;
  /** Whether what waited at the last sweep waited in the kernel's queue alone (slow-consumer.ts). */
  waitingInKernel = false;
  /** What the kernel had taken when the budget sweep started the kernel-queues read of generation `readGeneration` (memory-budget.ts). */
  acceptedAtRead = 0;
  readGeneration = 0;
  /** Bytes others hold for this socket (a replay in flight...), through MemoryBudget `hold` (memory-budget.ts). */
  heldBytes = 0;
  /** The socket's key in the kernel's TCP table, once looked for (kernel-queues.ts). */
  tcpKey: string | undefined = undefined;
  /**
   * The close code and reason the server chose (`closing`), 0 until it does: set, the close is the
   * server's (`closedBy`) and is reported with this code, since `ws` reports whatever the peer
   * echoes, or 1006 when it never answers.
   */
  closeCode = 0;
  closeReason = '';
  /** The socket's rate limit, a token bucket (protocol/token-bucket.ts, through takeToken). */
  tokens: number;
  refilledAt: number;
  /** Bytes this socket may still be replayed (replay-gate.ts), negative while in debt; NaN until its first replay. */
  replayBytes = Number.NaN;
  replayCountedAt = 0;

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

  /**
   * Who ended the socket, from the code `ws` reports on 'close'. The server's decision is recorded
   * where it closes (the sender, `ws`'s protocol errors), not read from `ws`'s handshake state:
   * a close the server started stays the server's when the peer echoes it. Otherwise a close frame
   * came from the peer first, unless `ws` reports 1006, which no close frame may carry (`ws`
   * refuses it with 1002): then none came.
   */
  closedBy(reportedCode: number): ClosedBy {
    if (this.closeCode !== 0) return 'server';
    return reportedCode === ReportedCloseCode.abnormal ? 'network' : 'client';
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
