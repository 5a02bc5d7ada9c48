// Every setting the service reads, its default and its rule, in one place.
// parseConfig() turns an untrusted environment into a typed Config or throws a
// ConfigError naming the variable, the bad value and what is allowed.

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config extends HttpLimits, MemoryLimits, JwksLimits, BackendConfig {
  /** TCP port to listen on; 0 picks a free one (tests). */
  port: number;
  host: string;
  logLevel: LogLevel;
  /** How often the server sends `ping` to every socket. */
  pingIntervalMs: number;
  /** A socket whose oldest unanswered ping is older than this is closed (4000). */
  pongTimeoutMs: number;
  /** Close with 1000 `Done` after this many answered pings; 0 = never. */
  pingCount: number;
  /** Largest incoming message (after reassembly of fragments); larger closes with 1009. */
  maxMessageBytes: number;
  maxConnections: number;
  /** Token bucket refill rate per socket; the bucket holds twice this. */
  rateLimitPerSec: number;
  /** A socket whose unsent output passes this is a slow consumer and is closed (1013). */
  maxBufferedBytes: number;
  /** Browser origins allowed to open a socket: 'same-origin', 'any' or an exact list. */
  allowedOrigins: OriginPolicy;
  /** Believe X-Forwarded-For/-Proto/-Host (only when a proxy you run sets them). */
  trustProxy: boolean;
  shutdownTimeoutMs: number;
  /** Redis for fan-out across instances, history and presence; undefined = in-process broker (one instance). */
  redisUrl: string | undefined;
  /** Chat messages kept per room for replay on `join` with `since`. */
  historySize: number;
  /** Bytes a socket may be replayed a second (joins and subscribes with `since`), bursts of REPLAY_BURST_SECONDS (16) times that. */
  replayBytesPerSec: number;
  /** With Redis: an instance that stops refreshing its presence counts no longer counts after this long. */
  presenceTtlMs: number;
  /** Rooms one socket may follow at once (`subscribe` past it is refused with `too_many_rooms`). */
  maxRoomsPerConnection: number;
  /** A `say` repeating an idempotency key within this long is answered with the first, not stored again. */
  sayDedupeMs: number;
  /** Latest-value rooms: each keeps only its newest message, sent to every subscriber on `subscribe`. */
  latestRooms: RoomSet;

  // ---- Hardening (issue 14): bounds on what any client can make the server hold or answer.
  /** Host names the service answers to (Host, or X-Forwarded-Host behind a trusted proxy); empty = any. */
  allowedHosts: ReadonlySet<string>;
  /** In-process broker: bytes of history kept over all rooms; past it the least recently active rooms go first. */
  historyMaxBytes: number;
  /** A room's history is forgotten this long after its last message (memory), its Redis stream expires (Redis). */
  historyTtlMs: number;
  /** Refused requests and upgrades logged at warn per second at most; the rest are counted, and summed in the next line. */
  refusalLogPerSec: number;
  /** Who may connect and the server API (src/config/identity.ts). */
  identity: IdentityConfig;
  // -- Redis Cluster and Entra ID (docs/scaling.md) --
  /** REDIS_URL names a node of a Redis Cluster (OSS cluster API): discover the nodes, follow MOVED/ASK. */
  redisCluster: boolean;
  /** 'password': the URL's, if any. 'entra-id': a token of the managed identity (Azure Managed Redis). */
  redisAuth: RedisAuth;
  /** With entra-id: client id of a user-assigned managed identity; undefined = system-assigned. */
  azureClientId: string | undefined;
}

export type RedisAuth = 'password' | 'entra-id';

export type OriginPolicy = { kind: 'same-origin' } | { kind: 'any' } | { kind: 'list'; origins: ReadonlySet<string> };

import { ROOM_PATTERN, ROOM_PREFIX_PATTERN } from '../protocol/limits.ts';
import type { RoomSet } from '../protocol/rooms.ts';
import { parseIdentityConfig, type IdentityConfig } from './identity.ts';
import { HTTP_DEFAULTS, parseHttpLimits, type HttpLimits } from './http.ts';
import { MEMORY_DEFAULTS, parseMemoryLimits, type MemoryLimits } from './memory.ts';
import { JWKS_DEFAULTS, parseJwksLimits, type JwksLimits } from './jwks.ts';
import { BACKEND_DEFAULTS, parseBackendConfig, type BackendConfig } from './backend.ts';
import { ConfigError, type Env } from './error.ts';
import { refuseUnresolvedKeyVaultReference } from './key-vault.ts';

export { ConfigError, type Env };
export type { AuthConfig, IdentityConfig } from './identity.ts';

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Defaults, as documented in .env.example and the README. */
export const DEFAULTS = {
  PORT: '8080',
  HOST: '0.0.0.0',
  LOG_LEVEL: 'info',
  PING_INTERVAL_MS: '1000',
  PONG_TIMEOUT_MS: '10000',
  PING_COUNT: '0',
  MAX_MESSAGE_BYTES: '65536',
  MAX_CONNECTIONS: '10000',
  RATE_LIMIT_PER_SEC: '20',
  MAX_BUFFERED_BYTES: '1048576',
  ALLOWED_ORIGINS: '',
  TRUST_PROXY: 'false',
  SHUTDOWN_TIMEOUT_MS: '10000',
  REDIS_URL: '',
  HISTORY_SIZE: '100',
  REPLAY_BYTES_PER_SEC: '16384',
  PRESENCE_TTL_MS: '15000',
  MAX_ROOMS_PER_CONNECTION: '64',
  SAY_DEDUPE_MS: '300000',
  LATEST_ROOMS: '',
  // -- Redis Cluster and Entra ID --
  REDIS_CLUSTER: 'false',
  REDIS_AUTH: 'password',
  AZURE_CLIENT_ID: '',
  // Hardening
  ALLOWED_HOSTS: '',
  HISTORY_MAX_BYTES: '16777216',
  HISTORY_TTL_MS: '86400000',
  REFUSAL_LOG_PER_SEC: '10',
  ...HTTP_DEFAULTS,
  ...MEMORY_DEFAULTS,
  ...JWKS_DEFAULTS,
  ...BACKEND_DEFAULTS,
} as const;

type Name = keyof typeof DEFAULTS;

function raw(env: Env, name: Name): string {
  const value = env[name];
  // An empty variable (`PORT=` in .env) means "use the default", as most tools read it.
  return value === undefined || value.trim() === '' ? DEFAULTS[name] : value.trim();
}

function integer(env: Env, name: Name, min: number, max: number): number {
  const value = raw(env, name);
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(name, value, `an integer from ${min} to ${max}`);
  }
  return n;
}

function boolean(env: Env, name: Name): boolean {
  const value = raw(env, name).toLowerCase();
  if (value === 'true' || value === '1' || value === 'yes') return true;
  if (value === 'false' || value === '0' || value === 'no') return false;
  throw new ConfigError(name, raw(env, name), 'true or false');
}

function originPolicy(env: Env): OriginPolicy {
  const value = raw(env, 'ALLOWED_ORIGINS');
  if (value === '') return { kind: 'same-origin' };
  if (value === '*') return { kind: 'any' };
  const origins = new Set<string>();
  for (const item of value.split(',')) {
    const candidate = item.trim();
    if (candidate === '') continue;
    let parsed: URL | undefined;
    try {
      parsed = new URL(candidate);
    } catch {
      parsed = undefined;
    }
    // Browsers send an Origin of exactly scheme://host[:port], so anything else can never match.
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.origin !== candidate.replace(/\/$/, '')) {
      throw new ConfigError('ALLOWED_ORIGINS', value, `'*', empty (same origin only) or a comma-separated list of origins like https://example.com (bad entry: ${candidate})`);
    }
    origins.add(parsed.origin);
  }
  return { kind: 'list', origins };
}

function redisUrl(env: Env): string | undefined {
  const value = raw(env, 'REDIS_URL');
  if (value === '') return undefined;
  // Key mode on Azure: REDIS_URL (with the access key) is a Key Vault reference (redis.tf).
  refuseUnresolvedKeyVaultReference('REDIS_URL', value);
  let parsed: URL | undefined;
  try {
    parsed = new URL(value);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') || parsed.hostname === '') {
    throw new ConfigError('REDIS_URL', redactUrl(value), 'empty (one instance, in-process broker) or a URL like redis://host:6379 or rediss://:password@host:6380');
  }
  return value;
}

// -- Redis Cluster and Entra ID --
function redisAuth(env: Env, url: string | undefined): RedisAuth {
  const value = raw(env, 'REDIS_AUTH');
  if (value !== 'password' && value !== 'entra-id') throw new ConfigError('REDIS_AUTH', value, "'password' (the one in REDIS_URL, if any) or 'entra-id' (the managed identity's token)");
  if (value === 'entra-id' && (url === undefined || new URL(url).password !== '')) {
    throw new ConfigError('REDIS_AUTH', value, "'password' here, or a REDIS_URL without a password (the token is the password), like rediss://name.region.redis.azure.net:10000");
  }
  return value;
}

function azureClientId(env: Env): string | undefined {
  const value = raw(env, 'AZURE_CLIENT_ID');
  if (value === '') return undefined;
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) throw new ConfigError('AZURE_CLIENT_ID', value, 'empty (system-assigned identity) or the client id (a GUID) of a user-assigned managed identity');
  return value;
}

/** A Redis URL without its password, for logs, errors and /readyz. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/** ALLOWED_HOSTS: lower-case host names, each optionally with :port (then only that port matches). */
function allowedHosts(env: Env): ReadonlySet<string> {
  const value = raw(env, 'ALLOWED_HOSTS');
  const hosts = new Set<string>();
  for (const item of value.split(',')) {
    const host = item.trim().toLowerCase();
    if (host === '') continue;
    if (!/^(\*\.)?[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/.test(host)) {
      throw new ConfigError('ALLOWED_HOSTS', value, `empty (any host) or a comma-separated list of host names like example.com, *.example.com or localhost:8080 (bad entry: ${item.trim()})`);
    }
    hosts.add(host);
  }
  return hosts;
}

/** LATEST_ROOMS: comma-separated room names and `prefix-*` patterns. */
function latestRooms(env: Env): RoomSet {
  const value = raw(env, 'LATEST_ROOMS');
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const item of value.split(',').map((i) => i.trim())) {
    if (item === '') continue;
    if (ROOM_PATTERN.test(item)) exact.add(item);
    else if (ROOM_PREFIX_PATTERN.test(item)) prefixes.push(item.slice(0, -1));
    else throw new ConfigError('LATEST_ROOMS', value, `empty or a comma-separated list of room names (A-Z a-z 0-9 _ -, 1-64) and prefix-* patterns (bad entry: ${item})`);
  }
  return { exact, prefixes };
}

function hardening(env: Env): Pick<Config, 'allowedHosts' | 'historyMaxBytes' | 'historyTtlMs' | 'refusalLogPerSec'> {
  return {
    allowedHosts: allowedHosts(env),
    historyMaxBytes: integer(env, 'HISTORY_MAX_BYTES', 65_536, 16 * 1024 * 1024 * 1024),
    historyTtlMs: integer(env, 'HISTORY_TTL_MS', 1000, 365 * 86_400_000),
    refusalLogPerSec: integer(env, 'REFUSAL_LOG_PER_SEC', 0, 100_000),
  };
}

export function parseConfig(env: Env): Config {
  const logLevel = raw(env, 'LOG_LEVEL').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', raw(env, 'LOG_LEVEL'), `one of ${LOG_LEVELS.join(', ')}`);
  }
  const host = raw(env, 'HOST');
  if (!/^[A-Za-z0-9.:_-]+$/.test(host)) {
    throw new ConfigError('HOST', host, 'a host name or IP address such as 0.0.0.0, 127.0.0.1 or ::');
  }
  const pingIntervalMs = integer(env, 'PING_INTERVAL_MS', 10, 3_600_000);
  const pongTimeoutMs = integer(env, 'PONG_TIMEOUT_MS', 10, 3_600_000);
  if (pongTimeoutMs < pingIntervalMs) {
    throw new ConfigError('PONG_TIMEOUT_MS', raw(env, 'PONG_TIMEOUT_MS'), `an integer not below PING_INTERVAL_MS (${pingIntervalMs})`);
  }
  return {
    port: integer(env, 'PORT', 0, 65535),
    host,
    logLevel: logLevel as LogLevel,
    pingIntervalMs,
    pongTimeoutMs,
    pingCount: integer(env, 'PING_COUNT', 0, 1_000_000_000),
    maxMessageBytes: integer(env, 'MAX_MESSAGE_BYTES', 64, 100 * 1024 * 1024),
    maxConnections: integer(env, 'MAX_CONNECTIONS', 1, 10_000_000),
    rateLimitPerSec: integer(env, 'RATE_LIMIT_PER_SEC', 1, 1_000_000),
    maxBufferedBytes: integer(env, 'MAX_BUFFERED_BYTES', 1024, 1024 * 1024 * 1024),
    allowedOrigins: originPolicy(env),
    trustProxy: boolean(env, 'TRUST_PROXY'),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 0, 600_000),
    redisUrl: redisUrl(env),
    historySize: integer(env, 'HISTORY_SIZE', 1, 100_000),
    replayBytesPerSec: integer(env, 'REPLAY_BYTES_PER_SEC', 1024, 1024 * 1024 * 1024),
    presenceTtlMs: integer(env, 'PRESENCE_TTL_MS', 1000, 3_600_000),
    maxRoomsPerConnection: integer(env, 'MAX_ROOMS_PER_CONNECTION', 1, 10_000),
    sayDedupeMs: integer(env, 'SAY_DEDUPE_MS', 1000, 86_400_000),
    latestRooms: latestRooms(env),
    identity: parseIdentityConfig(env),
    // -- Redis Cluster and Entra ID --
    redisCluster: boolean(env, 'REDIS_CLUSTER'),
    redisAuth: redisAuth(env, redisUrl(env)),
    azureClientId: azureClientId(env),
    ...hardening(env),
    ...parseHttpLimits(env),
    ...parseJwksLimits(env),
    ...parseBackendConfig(env),
    ...parseMemoryLimits(env, integer(env, 'MAX_MESSAGE_BYTES', 64, 100 * 1024 * 1024) + integer(env, 'MAX_BUFFERED_BYTES', 1024, 1024 * 1024 * 1024)),
  };
}
