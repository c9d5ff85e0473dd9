import type { Redis } from 'ioredis';
import type { Config, Secret } from '../config/index.js';
import { trimOutbox } from '../events/index.js';
import type { Logger } from '../log.js';
import type { Closer } from '../runtime/shutdown.js';
import { WebhookDeliverer, type WebhookDelivererOptions, type WebhookObserver } from './deliverer.js';

export interface EventDeliveryOptions {
  readonly config: Config;
  /** The process's connection: the trimmer uses it; the deliverer makes its own from it. */
  readonly redis: Redis;
  readonly log: Logger;
  /** Hears each delivery's outcome (the process's Metrics). */
  readonly observer?: WebhookObserver;
  /** How often the outbox is trimmed. Default 60 s. */
  readonly trimEveryMs?: number;
  /** Overrides for the deliverer (tests: a short timeout, lease and schedule). */
  readonly deliverer?: Partial<
    Pick<WebhookDelivererOptions, 'timeoutMs' | 'concurrency' | 'retryDelaysMs' | 'leaseMs' | 'pollMs'>
  >;
}

/**
 * Starts a process's share of the event plumbing and returns what stops it: the outbox trimmer
 * (always: without it the stream would grow when nobody reads it) and, with WEBHOOK_URL set, a
 * webhook deliverer. Every process kind runs this; they share the work through Redis.
 */
export function startEventDelivery(options: EventDeliveryOptions): Closer {
  const { config, redis, log } = options;
  const trim = () => {
    trimOutbox(redis, config.prefix).catch((err: unknown) =>
      log.warn({ err: (err as Error).message }, 'outbox trim failed; trying again later'),
    );
  };
  trim();
  const timer = setInterval(trim, options.trimEveryMs ?? 60_000);
  timer.unref();

  let deliverer: WebhookDeliverer | undefined;
  if (config.webhook !== null) {
    deliverer = new WebhookDeliverer({
      redis,
      prefix: config.prefix,
      url: config.webhook.url,
      secret: config.webhook.secret,
      log: log.child({ component: 'webhooks' }),
      observer: options.observer,
      credentials: credentialsOf(config),
      ...options.deliverer,
    }).start();
    log.info({ origin: new URL(config.webhook.url).origin }, 'webhook deliveries on');
  }
  return {
    name: 'events',
    async close(force) {
      clearInterval(timer);
      await deliverer?.close(force);
    },
  };
}

/** Every credential the process knows; none may ever leave in an event. */
function credentialsOf(config: Config): Secret[] {
  return [
    ...config.accounts.map((account) => account.token),
    ...config.apiKeys,
    ...(config.admin ? [config.admin.password] : []),
    ...(config.webhook ? [config.webhook.secret] : []),
  ];
}
