// Every refused upgrade, whoever refused it (the gateway's policy or `ws` itself), gets its status,
// one counted reason and a warning, rate-limited so that a flood of bad handshakes cannot fill the disk.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/logger.ts';
import { redactQuery } from '../protocol/path.ts';
import { rateLimitedWarn } from '../log/rate-limited.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { RejectReason } from '../protocol/refusals.ts';
import { answerRaw } from '../request/raw-response.ts';
import { originOf, type Verdict } from './gateway.ts';
import { clientAddress } from '../request/hosts.ts';

/** Untrusted header values are logged this long at most. */
const LOGGED_CHARS = 200;

export interface UpgradeRefusals {
  refuse(req: IncomingMessage, socket: Duplex, verdict: Verdict & { ok: false }): void;
  /** The server's `wsClientError` listener: `ws` found the handshake malformed (400). */
  wsClientError(err: Error, socket: Duplex, req: IncomingMessage): void;
}

export function createUpgradeRefusals(logger: Logger, metrics: Metrics, perSecond: number, trustProxy: boolean): UpgradeRefusals {
  const warn = rateLimitedWarn(logger, perSecond);

  function record(req: IncomingMessage, status: number, reason: RejectReason, detail: string): void {
    metrics.upgradeRejected(reason);
    warn(
      {
        ip: clientAddress(req, trustProxy),
        origin: originOf(req)?.slice(0, LOGGED_CHARS),
        host: req.headers.host?.slice(0, LOGGED_CHARS),
        url: redactQuery(req.url)?.slice(0, LOGGED_CHARS),
        status,
        reason,
        detail,
      },
      'upgrade refused',
    );
  }

  return {
    refuse(req, socket, verdict) {
      record(req, verdict.status, verdict.reason, verdict.message);
      answerRaw(socket, verdict.status, verdict.message, verdict.headers);
    },
    wsClientError(err, socket, req) {
      record(req, 400, 'handshake', err.message);
      answerRaw(socket, 400, err.message);
    },
  };
}
