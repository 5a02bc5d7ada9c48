// The events' own two connections to Redis: commands (EVENTS_APPLY, leases, XACK) and one for the
// webhook outlet's blocking XREADGROUP. Their own, so that neither the broker's publishes nor its
// blocking reads ever wait behind an event. Same kind of link as the broker's (single or cluster,
// password or Entra ID); every command goes to the node of the deployment's hash slot.
import { createLink, type CredentialsProvider, type Link } from '../broker/redis/clients.ts';
import { errorText, reconnectDelay } from '../broker/redis/connection.ts';
import type { Logger } from '../log/logger.ts';
import type { EventsRedis } from './redis-port.ts';

export interface EventsLinkOptions {
  url: string;
  displayUrl: string;
  cluster: boolean;
  instance: string;
  /** A key of the deployment: its node is the one used. */
  slotKey: string;
  credentials?: ((client: { oneConnection: boolean }) => CredentialsProvider) | undefined;
  logger: Logger;
}

export interface EventsLink extends EventsRedis {
  close(): Promise<void>;
}

export function createEventsLink(options: EventsLinkOptions): EventsLink {
  const { logger } = options;
  const base = { url: options.url, cluster: options.cluster, slotKey: options.slotKey, credentials: options.credentials, reconnectDelay: (retries: number) => reconnectDelay(retries) };
  const commands = createLink({ ...base, name: `socketship-${options.instance}-events` });
  const blocking = createLink({ ...base, name: `socketship-${options.instance}-events-reader` });
  let closing = false;
  for (const [link, role] of [[commands, 'events'], [blocking, 'events-reader']] as const) {
    // The broker's own connections log Redis's troubles; these say only that they are theirs, once per burst.
    let quiet = false;
    link.on('error', (err: unknown) => {
      if (!closing && !quiet) logger.warn({ role, err: errorText(err), redis: options.displayUrl }, 'redis error');
      quiet = true;
    });
    link.on('ready', () => (quiet = false));
    void link.connect().catch((err: unknown) => logger.error({ role, err: errorText(err) }, 'redis connection given up'));
  }
  const send = async (link: Link, args: readonly string[]): Promise<unknown> => (await link.node()).sendCommand([...args]);
  return {
    call: (args) => send(commands, args),
    block: (args) => send(blocking, args),
    async close() {
      closing = true;
      blocking.destroy();
      try {
        await commands.close();
      } catch {
        commands.destroy();
      }
    },
  };
}
