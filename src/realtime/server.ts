// The WebSocket side of the service, assembled: accepts upgrades (after the gateway's checks),
// starts the heartbeat, and drains on shutdown. Each part is built once, here, with what it needs.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocketServer, type ServerOptions } from 'ws';
import type { Broker } from '../broker/broker.ts';
import type { Clock } from '../clock.ts';
import type { Config } from '../config/config.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { CloseCode, CloseReason } from '../protocol/close.ts';
import { createConnectionHandlers } from './connection.ts';
import { clientAddress, judgeUpgrade, refuseUpgrade } from './gateway.ts';
import { createHeartbeat } from './heartbeat.ts';
import { createJoins } from './join.ts';
import { createRooms } from './rooms.ts';
import { createSender } from './sender.ts';
import { ClientSocket } from './session.ts';
import { createSlowConsumerPolicy } from './slow-consumer.ts';
import { createTyping } from './typing.ts';

/** How long a peer gets to answer a close we sent before `ws` destroys its TCP socket. */
export const CLOSE_HANDSHAKE_TIMEOUT_MS = 1000;

export type RealtimeConfig = Pick<
  Config,
  | 'pingIntervalMs'
  | 'pongTimeoutMs'
  | 'pingCount'
  | 'maxMessageBytes'
  | 'maxConnections'
  | 'rateLimitPerSec'
  | 'maxBufferedBytes'
  | 'allowedOrigins'
  | 'trustProxy'
>;

export interface RealtimeDeps {
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  broker: Broker;
}

export interface Realtime {
  /** For the HTTP server's 'upgrade' event. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  openConnections(): number;
  start(): void;
  /** Refuses new sockets, closes open ones with 1001 and waits for them up to `timeoutMs`, then destroys the rest. */
  drain(timeoutMs: number): Promise<void>;
}

function ignore(): void {}

export function createRealtime(config: RealtimeConfig, deps: RealtimeDeps): Realtime {
  const { logger, metrics, clock, broker } = deps;
  // `closeTimeout` (ws >= 8.19) is missing from @types/ws, hence the widened type.
  const serverOptions: ServerOptions<typeof ClientSocket> & { closeTimeout: number } = {
    noServer: true,
    WebSocket: ClientSocket,
    maxPayload: config.maxMessageBytes,
    // Compression costs memory per socket and CPU per frame, and invites compression-oracle attacks.
    perMessageDeflate: false,
    closeTimeout: CLOSE_HANDSHAKE_TIMEOUT_MS,
  };
  const wss = new WebSocketServer(serverOptions);
  const clients = wss.clients as Set<ClientSocket>;
  const sender = createSender(metrics, createSlowConsumerPolicy(config.maxBufferedBytes, logger));
  // Presence goes through the broker, which counts the room over every instance.
  const rooms = createRooms(sender, (room, localMembers) => broker.presence(room, localMembers));
  const joins = createJoins(broker, rooms, sender, logger);
  const typing = createTyping({ broker, rooms, clock });
  const heartbeat = createHeartbeat({
    intervalMs: config.pingIntervalMs,
    timeoutMs: config.pongTimeoutMs,
    pingCount: config.pingCount,
    clock,
    sender,
    metrics,
    sockets: () => clients,
  });
  broker.subscribe({
    message(message) {
      rooms.deliver(message);
      joins.heard(message);
    },
    presence: rooms.announce,
    typing: typing.heard,
  });
  const open = createConnectionHandlers({ ...deps, rateLimitPerSec: config.rateLimitPerSec, trustProxy: config.trustProxy, sender, heartbeat, rooms, joins, typing });
  let draining = false;

  return {
    handleUpgrade(req, socket, head) {
      // A client that resets mid-handshake must cost this one socket, never the process.
      socket.on('error', ignore);
      const verdict = judgeUpgrade(req, config, clients.size, draining);
      if (!verdict.ok) {
        metrics.upgradeRejected(verdict.reason);
        logger.warn(
          { ip: clientAddress(req, config.trustProxy), origin: req.headers.origin, url: req.url, status: verdict.status, reason: verdict.reason },
          'upgrade refused',
        );
        return refuseUpgrade(socket, verdict.status, verdict.message);
      }
      wss.handleUpgrade(req, socket, head, (ws) => open(ws as ClientSocket, req, draining));
    },
    openConnections: () => clients.size,
    start: () => heartbeat.start(),
    async drain(timeoutMs) {
      draining = true;
      heartbeat.stop();
      typing.stop();
      for (const socket of clients) sender.close(socket, CloseCode.goingAway, CloseReason.shuttingDown);
      const deadline = Date.now() + timeoutMs;
      while (clients.size > 0 && Date.now() < deadline) await sleep(Math.min(50, timeoutMs));
      if (clients.size > 0) {
        logger.warn({ remaining: clients.size }, 'shutdown timeout: destroying remaining sockets');
        for (const socket of clients) socket.terminate();
      }
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
