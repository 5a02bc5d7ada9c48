import { WebSocket } from 'ws';

/**
 * One socket's state. Plain fields on one object per connection, no closures or timers,
 * because at 10k connections every per-socket byte and allocation shows.
 */
export class Session {
  readonly id: string;
  readonly ip: string;
  readonly openedAt: number;
  name: string;
  room: string;
  messagesIn = 0;
  messagesOut = 0;
  /** Heartbeat sweep that sent this socket its first ping; ping k went out in sweep firstSweep + k. */
  firstSweep: number;
  pongs = 0;
  /** Code the server closed with, since `ws` reports 1006 when a peer never answers the close. */
  closeCode = 0;
  closeReason = '';
  private tokens: number;
  private refilledAt: number;

  constructor(id: string, ip: string, name: string, room: string, now: number, firstSweep: number, burst: number) {
    this.id = id;
    this.ip = ip;
    this.name = name;
    this.room = room;
    this.openedAt = now;
    this.firstSweep = firstSweep;
    this.tokens = burst;
    this.refilledAt = now;
  }

  /** Token bucket: `ratePerSec` tokens a second, holding at most twice that. */
  takeToken(now: number, ratePerSec: number): boolean {
    const burst = ratePerSec * 2;
    const elapsed = now - this.refilledAt;
    if (elapsed > 0) {
      this.tokens = Math.min(burst, this.tokens + (elapsed * ratePerSec) / 1000);
      this.refilledAt = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** The `ws` socket class the server creates, carrying its session. */
export class ClientSocket extends WebSocket {
  session!: Session;
}
