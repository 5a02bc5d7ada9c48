// The settings of what Socketship tells the application's backend (issue 20, docs/events.md): which
// events (events.ts), their webhooks (webhook.ts), and the publish hook (publish-hook.ts), gathered
// so config.ts takes them as one part.
import { EVENTS_DEFAULTS, parseEventsConfig, type EventsConfig } from './events.ts';
import type { Env } from './error.ts';
import { PUBLISH_HOOK_DEFAULTS, parsePublishHookConfig, type PublishHookConfig } from './publish-hook.ts';
import { WEBHOOK_DEFAULTS, parseWebhookConfig, type WebhookConfig } from './webhook.ts';

export interface BackendConfig extends EventsConfig, WebhookConfig, PublishHookConfig {}

export const BACKEND_DEFAULTS = { ...EVENTS_DEFAULTS, ...WEBHOOK_DEFAULTS, ...PUBLISH_HOOK_DEFAULTS } as const;

export function parseBackendConfig(env: Env): BackendConfig {
  return { ...parseEventsConfig(env), ...parseWebhookConfig(env), ...parsePublishHookConfig(env) };
}
