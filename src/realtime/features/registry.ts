// The features' inbound types, ephemeral kinds and control kinds in three lookup tables. The
// connection code and the broker listener dispatch through them; what is not in them is refused
// (a client's frame: 1008 Expected 'pong') or logged and counted (a kind from the broker).
import type { Feature, InboundRoute } from './feature.ts';

export interface Registry {
  inbound(type: string): InboundRoute | undefined;
  ephemeral(kind: string): ((room: string, data: string) => void) | undefined;
  control(kind: string): ((data: string) => void) | undefined;
  /** Every registered inbound type (the README protocol table and the fuzzer cover each). */
  readonly inboundTypes: readonly string[];
  stop(): void;
}

function table<V>(features: readonly Feature[], part: (f: Feature) => Readonly<Record<string, V>> | undefined, what: string): Map<string, V> {
  const entries = new Map<string, V>();
  const owner = new Map<string, string>();
  for (const feature of features) {
    for (const [key, value] of Object.entries(part(feature) ?? {})) {
      const taken = owner.get(key);
      if (taken !== undefined) throw new Error(`${what} "${key}" is registered by both ${taken} and ${feature.name}`);
      owner.set(key, feature.name);
      entries.set(key, value);
    }
  }
  return entries;
}

/** Throws when two features claim the same inbound type, ephemeral kind or control kind, or an inbound type is `pong` (the heartbeat's). */
export function createRegistry(features: readonly Feature[]): Registry {
  const inbound = table(features, (f) => f.inbound, 'inbound type');
  const ephemeral = table(features, (f) => f.ephemeral, 'ephemeral kind');
  const control = table(features, (f) => f.control, 'control kind');
  if (inbound.has('pong')) throw new Error('inbound type "pong" is the heartbeat\'s answer and cannot be registered');
  return {
    inbound: (type) => inbound.get(type),
    ephemeral: (kind) => ephemeral.get(kind),
    control: (kind) => control.get(kind),
    inboundTypes: [...inbound.keys()],
    stop() {
      for (const feature of features) feature.stop?.();
    },
  };
}
