import type { AuthFailure } from '../protocol/refusals.ts';

export type { AuthFailure };

/** A refused token. `detail` is for the log; it never contains the token. */
export class AuthError extends Error {
  readonly reason: AuthFailure;
  constructor(reason: AuthFailure, detail: string) {
    super(detail);
    this.name = 'AuthError';
    this.reason = reason;
  }

  /** 503 when the keys could not be fetched (the token may be fine: try again), else 401. */
  get status(): number {
    return this.reason === 'jwks_unavailable' ? 503 : 401;
  }
}
