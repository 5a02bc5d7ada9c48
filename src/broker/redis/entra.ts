// Microsoft Entra ID authentication to Azure Managed Redis from the app's managed identity: no
// key anywhere. The managed identity gives an access token for https://redis.azure.com; Redis
// takes it as the password of a user named after the token's `oid` claim (the object id of the
// identity, given a data access policy in Azure). @redis/entraid refreshes the token before it
// expires and re-authenticates every open connection with AUTH (a blocked XREAD gets its AUTH
// as soon as it returns, within its 10 s block; the subscriber speaks RESP3, which allows AUTH while
// subscribed). Loaded only when REDIS_AUTH=entra-id: the default
// path never loads @azure/identity.
import type { Logger } from '../../log/logger.ts';
import type { CredentialsProvider } from './clients.ts';

/** Tokens are renewed when this much of their lifetime has passed (managed identity tokens live about 24 h). */
const REFRESH_RATIO = 0.8;
/** Failed renewals are retried, whatever the error, with backoff up to this; the old token stays in use meanwhile. */
const RETRY_MAX_DELAY_MS = 30_000;

type Streaming = Extract<CredentialsProvider, { type: 'streaming-credentials-provider' }>;

export interface EntraIdOptions {
  /** Client id of a user-assigned managed identity; undefined: the system-assigned identity. */
  clientId: string | undefined;
  logger: Logger;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}

async function load(options: EntraIdOptions): Promise<Streaming> {
  const { logger } = options;
  const [{ ManagedIdentityCredential }, { EntraIdCredentialsProviderFactory, REDIS_SCOPE_DEFAULT }] = await Promise.all([import('@azure/identity'), import('@redis/entraid')]);
  const credential = options.clientId === undefined ? new ManagedIdentityCredential() : new ManagedIdentityCredential({ clientId: options.clientId });
  return EntraIdCredentialsProviderFactory.createForDefaultAzureCredential({
    credential,
    scopes: REDIS_SCOPE_DEFAULT,
    tokenManagerConfig: {
      expirationRefreshRatio: REFRESH_RATIO,
      // The library's default retries network errors only and otherwise stops renewing for good.
      retry: { maxAttempts: Number.MAX_SAFE_INTEGER, initialDelayMs: 500, maxDelayMs: RETRY_MAX_DELAY_MS, backoffMultiplier: 2, jitterPercentage: 10, isRetryable: () => true },
    },
    onReAuthenticationError: (err) => logger.error({ err: message(err) }, 'redis re-authentication failed (entra id)'),
    onRetryableError: (err) => logger.warn({ err }, 'redis token renewal failed (entra id); retrying'),
  });
}

/** Gives each node-redis client its provider; all share one token and its renewal. */
export type CredentialsFor = (client: { oneConnection: boolean }) => CredentialsProvider;

/**
 * Credentials providers that load the Entra ID libraries at the first connection. Logs who (the
 * oid) and when, never the token.
 *
 * node-redis subscribes again at every reconnection without disposing of the previous
 * subscription, so each reconnection would add one more AUTH per renewal, forever. A client with
 * one connection at a time (`oneConnection`) keeps only its latest subscription here. A cluster
 * client shares one provider among its node connections and cannot: there the stale ones stay.
 */
export function entraIdCredentials(options: EntraIdOptions): CredentialsFor {
  const { logger } = options;
  let provider: Promise<Streaming> | undefined;
  const loaded = (): Promise<Streaming> =>
    (provider ??= load(options).catch((err: unknown) => {
      provider = undefined; // the next connection attempt tries again
      throw err;
    }));
  return ({ oneConnection }) => {
    let latest: { dispose(): void } | undefined;
    return {
      type: 'streaming-credentials-provider',
      async subscribe(listener) {
        const [credentials, subscription] = await (
          await loaded()
        ).subscribe({
          onNext(next) {
            logger.info({ user: next.username }, 'redis credentials renewed (entra id)');
            listener.onNext(next);
          },
          onError: (err) => listener.onError(err),
        });
        // The new subscription is in place before the old one goes: the token manager never stops.
        if (oneConnection) {
          latest?.dispose();
          latest = subscription;
        }
        return [credentials, subscription];
      },
      onReAuthenticationError: (err) => logger.error({ err: message(err) }, 'redis re-authentication failed (entra id)'),
    };
  };
}
