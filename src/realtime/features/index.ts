// The registered features: one line each. Their inbound types, ephemeral kinds and control kinds
// must not overlap (createRegistry refuses to start otherwise).
import { createChat } from './chat.ts';
import type { FeatureFactory } from './feature.ts';
import { createName } from './name.ts';
import { createRefresh } from './refresh.ts';
import { createSubscribe } from './subscribe.ts';
import { createTypingFeature } from './typing.ts';
import { createUserControl } from './users.ts';

export const FEATURES: readonly FeatureFactory[] = [createSubscribe, createChat, createTypingFeature, createUserControl, createRefresh, createName];
