// The WebSocket side of the service, assembled: accepts upgrades (after the gateway's checks),
// starts the heartbeat, and drains on shutdown. Each part is built once, here, with what it needs.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocketServer, type ServerOptions } from 'ws';
import { AuthError } from '../auth/errors.ts';
import { tokenOf } from '../auth/request.ts';
import type { VerifyToken } from '../auth/verify.ts';
import type { Broker } from '../broker/broker.ts';
import type { Clock } from '../clock.ts';
import type { Config } from '../config/config.ts';
import type { PublishHookCheck } from '../events/publish-hook.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { CloseCode, CloseReason } from '../protocol/close.ts';
import { MAX_FRAGMENTS } from '../protocol/limits.ts';
import { judgeUpgrade, MEMORY_REFUSAL } from './gateway.ts';
import { createHeartbeat } from './heartbeat.ts';
import { createKernelQueues } from './kernel-queues.ts';
import { createMemoryBudget, type MemoryBudget, type MemoryHolder } from './memory-budget.ts';
import { rateLimitedWarn } from '../log/rate-limited.ts';
import { createConnectionHandlers, denySocket, refuseSocket } from './connection.ts';
import type { FeatureDeps, FeatureFactory } from './features/feature.ts';
import { FEATURES } from './features/index.ts';
import { createRegistry } from './features/registry.ts';
import { createRooms, PRESENCE_FLUSH_MS } from './rooms.ts';
import type { EventConn, EventLog } from '../events/log.ts';
import { createReplayGate } from './replay-gate.ts';
import { createSender } from './sender.ts';
import { ClientSocket } from './session.ts';
import { createSlowConsumerPolicy } from './slow-consumer.ts';
import { createSubscriptions } from './subscriptions.ts';
import { createUpgradeRefusals } from './upgrade-refusals.ts';
import { createUsers } from './users.ts';
import { tcpSocketOf } from './ws-internals.ts';
import type { RejectReason } from '../protocol/refusals.ts';
import type { Identity } from '../auth/identity.ts';
import { inRoomSet } from '../protocol/rooms.ts';

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
  | 'replayBytesPerSec'
  | 'maxBufferedBytes'
  | 'slowConsumerMs'
  | 'memoryBudgetBytes'
  | 'allowedOrigins'
  | 'trustProxy'
  | 'allowedHosts'
  | 'refusalLogPerSec'
  | 'maxRoomsPerConnection'
  | 'latestRooms'
  | 'sayDedupeMs'
>;

export interface RealtimeDeps {
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  broker: Broker;
  /** Identity mode: every upgrade carries a token this accepts (401 otherwise). Absent: anonymous mode. */
  verifyToken?: VerifyToken;
  /** The features the server speaks. Default: every registered one (features/index.ts). */
  features?: readonly FeatureFactory[];
  /** Told when an upgrade completes: the socket is no longer a plain HTTP connection (MAX_HTTP_CONNECTIONS). */
  onUpgraded?: (socket: Duplex) => void;
  /** PUBLISH_HOOK_URL: asked about every `say` before it is stored (features/chat.ts). Absent: no hook. */
  publishHook?: PublishHookCheck;
  /** The backend's events (EVENTS): sockets opening and closing, joining and leaving rooms. Default: none. */
  events?: EventLog;
}

export interface Realtime {
  /** For the HTTP server's 'upgrade' event. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  openConnections(): number;
  /** The memory budget: `pressure()` is why /readyz answers 503 while it is exceeded; parts that hold memory for clients report it. */
  readonly memory: MemoryHolder;
  start(): void;
  /** Refuses new sockets, closes open ones with 1001 and waits for them up to `timeoutMs`, then destroys the rest. */
  drain(timeoutMs: number): Promise<void>;
  /** The sockets and memberships of this instance, as the backend's events name them. */
  holdings(): { conns: EventConn[]; members: Array<[string, EventConn]> };
}

function ignore(): void {}

export function createRealtime(config: RealtimeConfig, deps: RealtimeDeps): Realtime {
  const { logger, metrics, clock, broker } = deps;
  // `closeTimeout` (ws >= 8.19) and `maxFragments` are missing from @types/ws, hence the widened type.
  const serverOptions: ServerOptions<typeof ClientSocket> & { closeTimeout: number; maxFragments: number } = {
    noServer: true,
    WebSocket: ClientSocket,
    maxPayload: config.maxMessageBytes,
    // Compression costs memory per socket and CPU per frame, and invites compression-oracle attacks.
    perMessageDeflate: false,
    closeTimeout: CLOSE_HANDSHAKE_TIMEOUT_MS,
    maxFragments: MAX_FRAGMENTS,
    // Pings are answered by connection.ts, within the socket's rate limit.
    autoPong: false,
  };
  const wss = new WebSocketServer(serverOptions);
  const refusals = createUpgradeRefusals(logger, metrics, config.refusalLogPerSec, config.trustProxy);
  wss.on('wsClientError', refusals.wsClientError);
  const clients = wss.clients as Set<ClientSocket>;
  const slow = createSlowConsumerPolicy(config.maxBufferedBytes, logger, config.slowConsumerMs);
  // The budget closes through the sender, and the sender tells it of output left queued.
  const queued: { to: MemoryBudget['grew'] } = { to: () => {} };
  const sender = createSender(metrics, slow, (bytes, held) => queued.to(bytes, held));
  // Presence goes through the broker, which counts the room over every instance; with identities
  // it also keeps who is there, for the server API.
  const identityMode = deps.verifyToken !== undefined;
  const rooms = createRooms(sender, (room, members) => {
    broker.presence(room, members.size, identityMode ? [...members].map(({ session }) => ({ sub: session.identity?.sub ?? '', name: session.name })) : undefined);
  }, PRESENCE_FLUSH_MS, deps.events);
  const users = createUsers();
  // Refusals that keep a socket open (denials, bad token refreshes) share the refusal log's rate.
  const refusalWarn = rateLimitedWarn(logger, config.refusalLogPerSec);
  const memory = createMemoryBudget({ limitBytes: config.memoryBudgetBytes, sockets: () => clients, slow, sender, kernel: createKernelQueues(), logger, warn: refusalWarn, metrics, clock });
  queued.to = memory.grew;
  const gate = createReplayGate({ bytesPerSec: config.replayBytesPerSec, now: () => clock.now() });
  // A replay being read holds its expected size in the budget until it is sent (then it is output).
  const subscriptions = createSubscriptions({ broker, rooms, sender, logger, gate, memory, isLatest: (room) => inRoomSet(config.latestRooms, room) });
  const featureDeps: FeatureDeps = {
    broker,
    rooms,
    subscriptions,
    sender,
    users,
    logger,
    clock,
    maxRooms: config.maxRoomsPerConnection,
    sayDedupeMs: config.sayDedupeMs,
    verifyToken: deps.verifyToken,
    deny: (socket, reason, room) => denySocket(refusalWarn, sender, socket, reason, room),
    warn: refusalWarn,
    refuse: (socket, code, reason) => refuseSocket(logger, sender, socket, code, reason),
    memory,
    publishHook: deps.publishHook,
    events: deps.events,
  };
  const registry = createRegistry((deps.features ?? FEATURES).map((make) => make(featureDeps)));
  const heartbeat = createHeartbeat({
    intervalMs: config.pingIntervalMs,
    timeoutMs: config.pongTimeoutMs,
    pingCount: config.pingCount,
    clock,
    sender,
    metrics,
    sockets: () => clients,
  });
  // Kinds no registered feature knows (a newer instance in a rolling deploy): counted and logged, at most one line in a thousand.
  let unknownKinds = 0;
  function unknownKind(kind: string, channel: string): void {
    metrics.brokerError('event');
    if (unknownKinds++ % 1000 === 0) logger.warn({ kind, channel, seen: unknownKinds }, 'broker event of a kind no feature registered ignored');
  }
  broker.subscribe({
    message(message) {
      rooms.deliver(message);
      subscriptions.heard(message);
    },
    presence: rooms.announce,
    ephemeral(room, kind, data) {
      const handler = registry.ephemeral(kind);
      if (handler) handler(room, data);
      else unknownKind(kind, 'ephemeral');
    },
    control(kind, data) {
      const handler = registry.control(kind);
      if (handler) handler(data);
      else unknownKind(kind, 'control');
    },
  });
  const open = createConnectionHandlers({ ...deps, rateLimitPerSec: config.rateLimitPerSec, trustProxy: config.trustProxy, sender, heartbeat, subscriptions, users, registry });
  let draining = false;

  /** Every refused upgrade, the gateway's or the token's: its status, a counted reason, a rate-limited warning. */
  function refuse(req: IncomingMessage, socket: Duplex, status: number, reason: RejectReason, message: string, headers?: Record<string, string>): void {
    refusals.refuse(req, socket, { ok: false, status, reason, message, ...(headers ? { headers } : {}) });
  }

  function accept(req: IncomingMessage, socket: Duplex, head: Buffer, identity: Identity | undefined): void {
    wss.handleUpgrade(req, socket, head, (ws) => {
      deps.onUpgraded?.(socket);
      // What arrives may be kept (a fragment): the budget adds it up between its sweeps.
      tcpSocketOf(ws)?.on('data', memory.countIncoming);
      open(ws as ClientSocket, req, draining, identity);
    });
  }

  /** Identity mode: the token decides, after the cheap checks; the socket may be gone by the time it has. */
  function authenticate(verify: VerifyToken, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    verify(tokenOf(req)).then(
      (identity) => {
        if (socket.destroyed) return;
        if (draining) return refuse(req, socket, 503, 'shutting_down', 'Server shutting down');
        // The budget may have been exceeded while the token was checked.
        if (memory.pressure() !== undefined) return refusals.refuse(req, socket, MEMORY_REFUSAL);
        accept(req, socket, head, identity);
      },
      (err: unknown) => {
        const auth = err instanceof AuthError ? err : new AuthError('jwks_unavailable', String(err));
        logger.debug({ detail: auth.message }, 'token refused');
        const challenge = auth.status === 401 ? { 'WWW-Authenticate': `Bearer error="invalid_token", error_description="${auth.reason}"` } : undefined;
        refuse(req, socket, auth.status, auth.reason, auth.status === 401 ? 'Unauthorized' : 'Identity provider unavailable, try again', challenge);
      },
    );
  }

  return {
    handleUpgrade(req, socket, head) {
      // A client that resets mid-handshake must cost this one socket, never the process.
      socket.on('error', ignore);
      const verdict = judgeUpgrade(req, config, clients.size, draining, memory.pressure() !== undefined);
      if (!verdict.ok) return refuse(req, socket, verdict.status, verdict.reason, verdict.message, verdict.headers);
      if (deps.verifyToken) return authenticate(deps.verifyToken, req, socket, head);
      accept(req, socket, head, undefined);
    },
    openConnections: () => clients.size,
    memory,
    holdings() {
      const conn = (socket: ClientSocket): EventConn => ({ connId: socket.session.id, sub: socket.session.identity?.sub });
      return { conns: [...clients].map(conn), members: rooms.memberships().map(([room, socket]) => [room, conn(socket)]) };
    },
    start() {
      heartbeat.start();
      memory.start();
    },
    async drain(timeoutMs) {
      draining = true;
      heartbeat.stop();
      memory.stop();
      registry.stop();
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
