// What clients may make the process hold (issue 22): the slow-consumer time rule and the memory
// budget over every socket (src/realtime/memory-budget.ts). Parsed and checked at start like every
// setting; their defaults are part of DEFAULTS (config.ts), so README and .env.example are checked
// against them. The arithmetic behind the defaults is in docs/security.md ("Memory budget").
import { ConfigError, type Env } from './error.ts';

export interface MemoryLimits {
  /** A socket whose output has waited this long with the kernel taking none of it is closed (1013). */
  slowConsumerMs: number;
  /** MEMORY_BUDGET_MB in bytes: past it upgrades get 503, /readyz 503, and the heaviest holders are closed. */
  memoryBudgetBytes: number;
}

/**
 * 10 s: a peer that has read nothing for 10 s while output waits for it is gone or hostile (a
 * browser tab in the background still reads); the pong timeout's default too.
 * 128 MiB: fits the compose default container (APP_MEM_LIMIT 512 MiB) beside the process itself
 * at MAX_CONNECTIONS idle sockets, and the V8 heap Node sizes from that limit (268 MiB).
 */
export const MEMORY_DEFAULTS = {
  SLOW_CONSUMER_MS: '10000',
  MEMORY_BUDGET_MB: '128',
} as const;

type Name = keyof typeof MEMORY_DEFAULTS;

const MIB = 1024 * 1024;

function integer(env: Env, name: Name, min: number, max: number): number {
  const given = env[name]?.trim();
  // An empty variable means "use the default", as for every other setting.
  const value = given === undefined || given === '' ? MEMORY_DEFAULTS[name] : given;
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new ConfigError(name, value, `an integer from ${min} to ${max}`);
  return n;
}

/** `perSocketBytes`: MAX_MESSAGE_BYTES plus MAX_BUFFERED_BYTES, what one socket may hold inside its own limits. */
export function parseMemoryLimits(env: Env, perSocketBytes: number): MemoryLimits {
  // Not below the sweep that checks it (once a second).
  const slowConsumerMs = integer(env, 'SLOW_CONSUMER_MS', 1000, 3_600_000);
  const budgetMb = integer(env, 'MEMORY_BUDGET_MB', 1, 1_048_576);
  // A handful of sockets at their own limits must never be past the budget, or a single busy
  // client would refuse everyone's upgrades.
  const least = Math.ceil((4 * perSocketBytes) / MIB);
  if (budgetMb < least) throw new ConfigError('MEMORY_BUDGET_MB', String(budgetMb), `at least ${least} (four sockets at MAX_MESSAGE_BYTES plus MAX_BUFFERED_BYTES)`);
  return { slowConsumerMs, memoryBudgetBytes: budgetMb * MIB };
}
