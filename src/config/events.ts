// Which events the application's backend is told (issue 20, docs/events.md), and where they are
// kept on their way. Parsed and checked at start like every setting; their defaults are part of
// DEFAULTS (config.ts), so README and .env.example are checked against them.
import { EVENT_TYPES, type EventType } from '../protocol/backend-events.ts';
import { ConfigError, type Env } from './error.ts';

export interface EventsConfig {
  /** The event types made (EVENTS); empty: none, and nothing about the service changes. */
  events: ReadonlySet<EventType>;
  /** `message.published` carries the message's text. */
  eventsIncludeText: boolean;
  /** With Redis: the events stream keeps about this many entries (XADD MAXLEN ~): what a backend that stopped reading can catch up on. */
  eventsStreamMaxLen: number;
  /** With Redis: events made while Redis is away wait in memory, this many at most; past it the oldest are dropped and counted. */
  eventsOutboxMax: number;
}

/**
 * None by default: a user who does not ask for events pays nothing for them.
 * 100000 entries: at a few hundred bytes each, some tens of MB in Redis, and hours of membership
 * churn for a backend that is down to catch up on.
 * 10000 waiting events: a few MB, about a minute of a busy instance's churn while Redis fails over.
 */
export const EVENTS_DEFAULTS = {
  EVENTS: '',
  EVENTS_INCLUDE_TEXT: 'false',
  EVENTS_STREAM_MAXLEN: '100000',
  EVENTS_OUTBOX_MAX: '10000',
} as const;

type Name = keyof typeof EVENTS_DEFAULTS;

function value(env: Env, name: Name): string {
  const given = env[name]?.trim();
  // An empty variable means "use the default", as for every other setting.
  return given === undefined || given === '' ? EVENTS_DEFAULTS[name] : given;
}

function integer(env: Env, name: Name, min: number, max: number): number {
  const text = value(env, name);
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new ConfigError(name, text, `an integer from ${min} to ${max}`);
  return n;
}

function eventTypes(env: Env): ReadonlySet<EventType> {
  const text = value(env, 'EVENTS');
  if (text === '') return new Set();
  if (text === 'all') return new Set(EVENT_TYPES);
  const known: ReadonlySet<string> = new Set(EVENT_TYPES);
  const types = new Set<EventType>();
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    if (!known.has(part)) throw new ConfigError('EVENTS', text, `'all' or a comma-separated list of ${EVENT_TYPES.join(', ')} (unknown: ${part})`);
    types.add(part as EventType);
  }
  return types;
}

export function parseEventsConfig(env: Env): EventsConfig {
  const events = eventTypes(env);
  const include = value(env, 'EVENTS_INCLUDE_TEXT');
  if (include !== 'true' && include !== 'false') throw new ConfigError('EVENTS_INCLUDE_TEXT', include, 'true or false');
  // Events with nowhere to go would be made for nobody: say so at start, not by silence.
  if (events.size > 0 && !env.REDIS_URL?.trim() && !env.WEBHOOK_URL?.trim()) {
    throw new ConfigError('EVENTS', value(env, 'EVENTS'), 'unset, unless REDIS_URL (the events stream) or WEBHOOK_URL (webhooks) says where events go');
  }
  return {
    events,
    eventsIncludeText: include === 'true',
    eventsStreamMaxLen: integer(env, 'EVENTS_STREAM_MAXLEN', 100, 100_000_000),
    eventsOutboxMax: integer(env, 'EVENTS_OUTBOX_MAX', 10, 10_000_000),
  };
}
