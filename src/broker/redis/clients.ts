// One node-redis connection of the broker (commands, the blocking reader, or the subscriber), to a single Redis or
// to a Redis Cluster. Everything above this file sees the same two things either way: the
// commands, routed by key (a cluster client follows MOVED and ASK), and the connection to the node
// that holds a given key, for what is not routed by key (CLIENT ID, CLIENT UNBLOCK).
import { EventEmitter } from 'node:events';
import { createClient, createCluster } from 'redis';

/** A connection to one Redis node. */
export type NodeClient = ReturnType<typeof createClient>;

/** Where a client gets its user name and password from when they change (Entra ID tokens). */
export type CredentialsProvider = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['credentialsProvider']>;

/** The commands the broker sends, which a client and a cluster client both route by their first key. */
export type RedisClient = Pick<NodeClient, 'xAdd' | 'pExpire' | 'xRange' | 'xRevRange' | 'xLen' | 'evalSha' | 'eval' | 'xRead'>;

export interface LinkOptions {
  url: string;
  /** CLIENT SETNAME of every connection. */
  name: string;
  /** True: a Redis Cluster (OSS cluster API), discovered from `url`. */
  cluster: boolean;
  /** Instead of the URL's password (Microsoft Entra ID tokens): a provider for each client. */
  credentials?: ((client: { oneConnection: boolean }) => CredentialsProvider) | undefined;
  reconnectDelay(retries: number): number;
  /** A key of the deployment: all of them share one hash slot, so one node holds them all. */
  slotKey: string;
  /**
   * RESP3, for the subscriber: on RESP2 a subscribed connection may run nothing but (un)subscribe
   * and PING, so node-redis skips its AUTH when an Entra ID token is renewed, and Redis would end
   * the connection once the old token expires.
   */
  resp3?: boolean;
}

/** Called with each message pushed on a subscribed channel. */
export type ChannelListener = (message: string, channel: string) => void;

/**
 * Events: 'error' (err), 'reconnecting', 'ready' (the node of the broker's keys can be used).
 */
export interface Link extends EventEmitter {
  readonly commands: RedisClient;
  /** The connection to the node that holds the deployment's keys. */
  node(): Promise<NodeClient>;
  /** That node is connected and ready. */
  isReady(): boolean;
  connect(): Promise<void>;
  /**
   * SUBSCRIBE, or SSUBSCRIBE on a cluster (to the node of the channel's slot, followed when the
   * slot moves). Resolves once Redis confirmed it; node-redis subscribes again after a reconnect
   * before it reports the connection ready.
   */
  subscribe(channel: string, listener: ChannelListener): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  close(): Promise<void>;
  destroy(): void;
}

function clientOptions(options: LinkOptions, oneConnection: boolean) {
  const credentialsProvider = options.credentials?.({ oneConnection });
  return {
    name: options.name,
    // Commands fail at once while disconnected instead of queueing unseen: the publisher's outbox
    // decides what waits and for how long.
    disableOfflineQueue: true,
    ...(credentialsProvider ? { credentialsProvider } : {}),
    ...(options.resp3 ? { RESP: 3 as const } : {}),
    socket: { connectTimeout: 5000, reconnectStrategy: (retries: number) => options.reconnectDelay(retries) },
  };
}

function singleLink(options: LinkOptions): Link {
  const client: NodeClient = createClient({ url: options.url, ...clientOptions(options, true) });
  const link = Object.assign(new EventEmitter(), {
    commands: client,
    node: () => Promise.resolve(client),
    isReady: () => client.isReady,
    connect: async () => void (await client.connect()),
    subscribe: (channel: string, listener: ChannelListener) => client.subscribe(channel, listener),
    unsubscribe: (channel: string) => client.unsubscribe(channel),
    close: () => client.close(),
    destroy: () => client.destroy(),
  });
  client.on('error', (err: unknown) => link.emit('error', err));
  client.on('reconnecting', () => link.emit('reconnecting'));
  client.on('ready', () => link.emit('ready'));
  return link;
}

/** The URL's credentials and TLS, for every node the cluster reveals (they are not in its answers). */
function nodeDefaults(options: LinkOptions) {
  const url = new URL(options.url);
  // One provider for every node connection the cluster opens (node-redis takes one `defaults`).
  const base = clientOptions(options, false);
  const tls = url.protocol === 'rediss:';
  return {
    ...base,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password && !options.credentials ? { password: decodeURIComponent(url.password) } : {}),
    // Nodes may be announced by address: the certificate is checked against the endpoint's name.
    socket: tls ? { ...base.socket, tls: true as const, servername: url.hostname } : base.socket,
  };
}

function clusterLink(options: LinkOptions): Link {
  const defaults = nodeDefaults(options);
  const cluster = createCluster({
    rootNodes: [{ url: options.url, ...defaults }],
    defaults,
    useReplicas: false,
    // While a node is unreachable, ask the cluster for its slot map every second (default 5 s):
    // after a failover the broker finds the promoted replica that much sooner.
    topologyRefreshOnReconnectionAttemptStrategy: 1000,
  });
  /** The node of the deployment's slot when last asked, kept to answer isReady() without waiting. */
  let known: NodeClient | undefined;
  let open = false;
  let attempts = 0;
  let retryTimer: NodeJS.Timeout | undefined;

  async function node(): Promise<NodeClient> {
    known = (await cluster.getNodeClientForKey(options.slotKey)) as NodeClient;
    return known;
  }
  function announceIfReady(): void {
    if (!cluster.isReady) return;
    void node().then((client) => client.isReady && link.emit('ready'), () => {});
  }

  /** The first discovery is not retried by node-redis: an unreachable cluster at start is, here. */
  async function discover(): Promise<void> {
    try {
      await cluster.connect();
      attempts = 0;
      announceIfReady();
    } catch (err) {
      if (!open) return;
      link.emit('error', err);
      link.emit('reconnecting');
      retryTimer = setTimeout(() => void discover(), options.reconnectDelay(attempts++));
    }
  }

  const link = Object.assign(new EventEmitter(), {
    commands: cluster,
    node,
    isReady: () => cluster.isReady && known !== undefined && known.isReady,
    async connect() {
      open = true;
      await discover();
    },
    subscribe: (channel: string, listener: ChannelListener) => cluster.sSubscribe(channel, listener),
    unsubscribe: (channel: string) => cluster.sUnsubscribe(channel),
    async close() {
      open = false;
      clearTimeout(retryTimer);
      if (cluster.isOpen) await cluster.close();
    },
    destroy() {
      open = false;
      clearTimeout(retryTimer);
      if (cluster.isOpen) cluster.destroy();
    },
  });
  cluster.on('error', (err: unknown) => link.emit('error', err));
  cluster.on('node-error', (err: unknown) => link.emit('error', err));
  cluster.on('node-reconnecting', () => link.emit('reconnecting'));
  cluster.on('node-ready', announceIfReady);
  return link;
}

export function createLink(options: LinkOptions): Link {
  return options.cluster ? clusterLink(options) : singleLink(options);
}
