import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { PipelineObserver } from '../queues/observer.js';
import type { Fulfillment } from '../queues/service.js';
import { type DeliveryOutcome, oldestUndeliveredMs, type WebhookObserver } from '../webhooks/index.js';
import { packageVersion } from './build-info.js';
import { type QueueSnapshot, readQueueSnapshot } from './snapshot.js';
import { withTimeout } from './timeout.js';

export interface MetricsOptions {
  /** Process metrics (CPU, memory, event loop lag, GC) beside ours; on by default. */
  readonly defaultMetrics?: boolean;
  /** How long a scrape waits for Redis before it reports `fulfillment_redis_up 0`. */
  readonly redisTimeoutMs?: number;
  /**
   * Export the gauges that read shared state from Redis (SHARED_STATE_GAUGES: queue depths, dead
   * letters, holds, account rates, Redis memory, `fulfillment_redis_up`); on by default. Every process sees the same values there, so only one
   * process kind exports them (the API: `api` and `npm start`) and worker-only processes pass false:
   * a sum over every process then counts each job once.
   */
  readonly sharedState?: boolean;
}

/**
 * The gauges that read shared state, each exported by the API process kind only (see `sharedState`).
 * Several API replicas each export the same value: aggregate them with max(), never sum().
 */
export const SHARED_STATE_GAUGES = [
  'fulfillment_redis_up', // whether this scrape could read Redis: about the API's view of it
  'fulfillment_queue_jobs', // BullMQ's counts, one set per Redis
  'fulfillment_dead_letter_jobs', // the dead-letter queue's length
  'fulfillment_accounts_held', // hold flags live in Redis, one per account
  'fulfillment_account_held',
  'fulfillment_account_backlog', // the backlog sets live in Redis, one per account
  'fulfillment_account_rate_limit', // the configured rate: every process has the same accounts file
  'fulfillment_redis_memory_used_bytes', // one Redis, one figure
  'fulfillment_redis_maxmemory_bytes',
] as const;

type ObserverEvent<K extends keyof PipelineObserver> = Parameters<NonNullable<PipelineObserver[K]>>[0];

/**
 * The product's Prometheus metrics, in a registry of their own (tests and embedders may hold several).
 * Counters and histograms are fed by the pipeline through the PipelineObserver interface; the gauges
 * (jobs by queue and state, dead-letter size, held accounts) are read from Redis when scraped, so they
 * are true for every process sharing the Redis, not just this one.
 *
 * Labels are closed sets or configured ids (queue, job name, provider, code, outcome, account id,
 * route template): never a token, an API key, a payload field or a raw URL.
 */
export class Metrics implements PipelineObserver, WebhookObserver {
  readonly registry = new Registry();
  readonly #redisTimeoutMs: number;
  #service: Fulfillment | undefined;
  /** One Redis read per scrape, shared by the gauges that prom-client collects in parallel. */
  #pending: Promise<QueueSnapshot | null> | undefined;

  readonly #outcomes = new Counter({
    name: 'fulfillment_job_outcomes_total',
    help: 'Upstream calls by what the pipeline made of their answer (code "none": transport failure)',
    labelNames: ['queue', 'name', 'provider', 'code', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly #coupons = new Counter({
    name: 'fulfillment_coupons_spent_total',
    help: 'Point coupons the upstreams reported charging, by account',
    labelNames: ['account', 'provider'] as const,
    registers: [this.registry],
  });
  readonly #calls = new Counter({
    name: 'fulfillment_upstream_calls_total',
    help: 'Upstream calls made, by account (against fulfillment_account_rate_limit: limiter utilisation)',
    labelNames: ['account', 'provider'] as const,
    registers: [this.registry],
  });
  readonly #unknownCharges = new Counter({
    name: 'fulfillment_unknown_charges_total',
    help: 'Calls whose answer never came back and may have been charged (ledger status "unknown")',
    labelNames: ['account'] as const,
    registers: [this.registry],
  });
  readonly #parked = new Counter({
    name: 'fulfillment_jobs_parked_total',
    help: "Jobs parked without using an attempt: waiting for the account limit (limit), a held account (held), or another run's call in flight (busy)",
    labelNames: ['account', 'why'] as const,
    registers: [this.registry],
  });
  readonly #unknownAccounts = new Counter({
    name: 'fulfillment_jobs_unknown_account_total',
    help: 'Jobs parked because they name an account this process does not know (check FULFILLMENT_ACCOUNTS)',
    labelNames: ['account'] as const,
    registers: [this.registry],
  });
  readonly #takes = new Counter({
    name: 'fulfillment_job_takes_total',
    help: 'Times a worker took a job from its queue: a job parked for its turn and back is taken again',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });

  readonly #slotsMissed = new Counter({
    name: 'fulfillment_limiter_slots_missed_total',
    help: 'Granted slots given up because the worker reached them too late to send (CPU-starved workers)',
    labelNames: ['account'] as const,
    registers: [this.registry],
  });
  readonly #upstreamSeconds = new Histogram({
    name: 'fulfillment_upstream_call_duration_seconds',
    help: 'Upstream call latency, request sent to answer (or failure)',
    labelNames: ['provider', 'operation'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly #limiterSeconds = new Histogram({
    name: 'fulfillment_limiter_wait_seconds',
    help: "Time a job waited inside its worker slot for its account's next call slot",
    labelNames: ['account'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  readonly #webhookDeliveries = new Counter({
    name: 'fulfillment_webhook_deliveries_total',
    help: 'Webhook attempts by outcome: delivered (2xx), retry (failed, another attempt scheduled), undeliverable (parked)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly #httpSeconds = new Histogram({
    name: 'fulfillment_http_request_duration_seconds',
    help: 'HTTP API requests by route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor(options: MetricsOptions = {}) {
    this.#redisTimeoutMs = options.redisTimeoutMs ?? 2_000;
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    new Gauge({
      name: 'fulfillment_build_info',
      help: 'Always 1; the labels say which version of the product runs on which Node.js',
      labelNames: ['version', 'node'] as const,
      registers,
    }).set({ version: packageVersion(), node: process.versions.node }, 1);
    if (options.sharedState ?? true) this.#sharedStateGauges();
  }

  /** The scrape-time gauges: read from Redis, the same in every process sharing it. */
  #sharedStateGauges(): void {
    const snapshot = () => this.#snapshot();
    const registers = [this.registry];
    new Gauge({
      name: 'fulfillment_redis_up',
      help: '1 when the last scrape could read Redis within its timeout, else 0',
      registers,
      async collect() {
        this.set((await snapshot()) ? 1 : 0);
      },
    });
    new Gauge({
      name: 'fulfillment_queue_jobs',
      help: 'Jobs in each queue by BullMQ state (read from Redis at scrape time)',
      labelNames: ['queue', 'state'] as const,
      registers,
      async collect() {
        this.reset();
        const read = await snapshot();
        for (const [queue, counts] of Object.entries(read?.jobs ?? {})) {
          for (const [state, count] of Object.entries(counts)) this.set({ queue, state }, count);
        }
      },
    });
    new Gauge({
      name: 'fulfillment_dead_letter_jobs',
      help: 'Jobs in the dead-letter queue, waiting for a person to redrive or purge them',
      registers,
      async collect() {
        const read = await snapshot();
        // Unreadable is NaN, not 0: a dashboard must not show "no dead letters" while Redis is away.
        this.set(read ? read.deadLetters : Number.NaN);
      },
    });
    new Gauge({
      name: 'fulfillment_accounts_held',
      help: 'Accounts held (bad token, no balance, quota spent) until someone resumes them',
      registers,
      async collect() {
        const read = await snapshot();
        this.set(read ? read.accounts.filter((account) => account.held).length : Number.NaN);
      },
    });
    type AccountRead = NonNullable<Awaited<ReturnType<typeof snapshot>>>['accounts'][number];
    /** A gauge with one series per configured account, its value read from the snapshot. */
    const perAccount = (name: string, help: string, value: (account: AccountRead) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['account', 'provider'] as const,
        registers,
        async collect() {
          this.reset();
          const read = await snapshot();
          for (const account of read?.accounts ?? []) {
            this.set({ account: account.id, provider: account.provider }, value(account));
          }
        },
      });
    perAccount('fulfillment_account_held', '1 while the account is held, else 0', (a) => (a.held ? 1 : 0));
    perAccount(
      'fulfillment_account_backlog',
      "The account's jobs queued or running, not yet finished (its backlog in GET /v1/accounts)",
      (a) => a.backlog,
    );
    perAccount(
      'fulfillment_account_rate_limit',
      "Upstream calls per second the account's limit allows (its ratePerSecond)",
      (a) => a.ratePerSecond,
    );
    new Gauge({
      name: 'fulfillment_redis_memory_used_bytes',
      help: "Redis's used_memory (INFO memory); NaN where it cannot be read",
      registers,
      async collect() {
        const memory = (await snapshot())?.memory;
        this.set(memory ? memory.used : Number.NaN);
      },
    });
    new Gauge({
      name: 'fulfillment_redis_maxmemory_bytes',
      help: "Redis's maxmemory (0: no limit), where it refuses writes under noeviction; NaN if unread",
      registers,
      async collect() {
        const memory = (await snapshot())?.memory;
        this.set(memory ? memory.max : Number.NaN);
      },
    });
    const oldestUndelivered = () => this.#oldestUndelivered();
    new Gauge({
      name: 'fulfillment_webhook_oldest_undelivered_seconds',
      help: 'Age of the oldest event neither delivered to WEBHOOK_URL nor given up (0: none waiting)',
      registers,
      async collect() {
        this.set(await oldestUndelivered());
      },
    });
  }

  /** Where the scrape-time gauges read from; without it they stay empty and redis_up is 0. */
  watch(service: Fulfillment): this {
    this.#service = service;
    return this;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text. Never throws for Redis trouble: the gauges it could not read are left out. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  outcome(event: ObserverEvent<'outcome'>): void {
    const code = event.code === null ? 'none' : String(event.code);
    this.#outcomes.inc({
      queue: event.queue,
      name: event.name,
      provider: event.provider,
      code,
      outcome: event.outcome,
    });
    this.#calls.inc({ account: event.account, provider: event.provider });
    if (event.charge > 0)
      this.#coupons.inc({ account: event.account, provider: event.provider }, event.charge);
  }

  upstreamCall(event: ObserverEvent<'upstreamCall'>): void {
    this.#upstreamSeconds.observe({ provider: event.provider, operation: event.operation }, event.seconds);
  }

  taken(event: ObserverEvent<'taken'>): void {
    this.#takes.inc({ queue: event.queue });
  }

  limiterWait(event: ObserverEvent<'limiterWait'>): void {
    this.#limiterSeconds.observe({ account: event.account }, event.seconds);
  }

  parked(event: ObserverEvent<'parked'>): void {
    this.#parked.inc({ account: event.account, why: event.why });
  }

  slotMissed(event: ObserverEvent<'slotMissed'>): void {
    this.#slotsMissed.inc({ account: event.account });
  }

  unknownAccount(event: ObserverEvent<'unknownAccount'>): void {
    this.#unknownAccounts.inc({ account: event.account });
  }

  unknownCharge(event: ObserverEvent<'unknownCharge'>): void {
    this.#unknownCharges.inc({ account: event.account });
  }

  webhookDelivery(event: { readonly outcome: DeliveryOutcome }): void {
    this.#webhookDeliveries.inc({ outcome: event.outcome });
  }

  /** `route` is the route template (`/v1/jobs/:id`), or 'unmatched': never the raw URL. */
  httpRequest(event: { method: string; route: string; status: number; seconds: number }): void {
    this.#httpSeconds.observe(
      { method: event.method, route: event.route, status: String(event.status) },
      event.seconds,
    );
  }

  /** Seconds, read from Redis at scrape time; NaN when Redis cannot say (not "nothing waiting"). */
  async #oldestUndelivered(): Promise<number> {
    const service = this.#service;
    if (!service) return Number.NaN;
    const read = oldestUndeliveredMs(service.redis, service.config.prefix).then(
      (ms) => ms ?? 0,
      () => null,
    );
    const ms = await withTimeout(read, this.#redisTimeoutMs);
    return ms === null ? Number.NaN : ms / 1000;
  }

  #snapshot(): Promise<QueueSnapshot | null> {
    const service = this.#service;
    if (!service) return Promise.resolve(null);
    this.#pending ??= readQueueSnapshot(service, this.#redisTimeoutMs).finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }
}
