import type { Worker } from 'bullmq';
import { type Config, ConfigError, loadConfig } from '../../src/config/index.js';
import type { WorkQueueName } from '../../src/keys.js';
import { createLogger, type Logger } from '../../src/log.js';
import type { PipelineObserver } from '../../src/queues/observer.js';
import { Fulfillment } from '../../src/queues/service.js';
import { createQueueWorker } from '../../src/queues/worker.js';
import { ensureRecordsGroup } from '../../src/records/sink.js';
import { openRecordsStore, type RecordsStore, RecordsStoreRefused } from '../../src/records/store.js';
import { API_COMMAND_TIMEOUT_MS, checkRedisPolicy, connectRedis } from '../../src/runtime/redis.js';
import { type Closer, closeTogether, shutdownOnSignal } from '../../src/runtime/shutdown.js';
import { createUpstreams } from '../../src/upstreams/index.js';
import { warmUpClients } from '../../src/upstreams/warm-up.js';

export interface ServiceProcess {
  readonly config: Config;
  readonly log: Logger;
  readonly service: Fulfillment;
  /**
   * The service for the HTTP API (with `needs.apiKeys`): its connection fails a command that gets no
   * reply in API_COMMAND_TIMEOUT_MS, so a hung Redis answers 503 instead of holding requests. With
   * workers in the process it is a second connection: the workers' must not time out their
   * blocking fetch.
   */
  readonly api: Fulfillment;
  readonly workers: readonly Worker[];
  /**
   * The records store of a process that serves the API (DATABASE_URL, or the embedded PostgreSQL it
   * owns); null in worker-only processes, and where the records stay in Redis.
   */
  readonly records: RecordsStore | null;
  /** Adds something to close on shutdown (closed before what was started earlier). */
  onClose(closer: Closer): void;
}

/** Reads the config or prints its one line and exits 1. */
export function configOrExit(needs: Parameters<typeof loadConfig>[1]): Config {
  try {
    return loadConfig(process.env, needs);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`fulfillment: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** How often each worker process looks for failed jobs left outside the dead-letter queue. */
const SWEEP_EVERY_MS = 60_000;

/**
 * Starts a service process: config, logger, Redis, the service, and workers for `queues`; stops it
 * all in reverse on SIGTERM/SIGINT within SHUTDOWN_GRACE_MS, then exits 0.
 */
export async function startServiceProcess(
  name: string,
  queues: readonly WorkQueueName[],
  needs: { apiKeys: boolean; observer?: PipelineObserver },
): Promise<ServiceProcess> {
  const config = configOrExit({ accounts: true, apiKeys: needs.apiKeys });
  const log = createLogger({ level: config.logLevel, name });
  const apiOnly = queues.length === 0;
  const redis = connectRedis(
    config,
    `fulfillment-${name}`,
    apiOnly ? { commandTimeoutMs: API_COMMAND_TIMEOUT_MS } : {},
  );
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
  try {
    await checkRedisPolicy(redis, config, log);
  } catch (err) {
    process.stderr.write(`fulfillment: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const onQueueError = (err: Error) => log.warn({ err: err.message }, 'queue connection error');
  const service = new Fulfillment(config, redis, onQueueError);
  const upstreams = createUpstreams({ ...config, timeoutMs: config.upstreamTimeoutMs });
  const closers: Closer[] = [
    { name: 'redis', close: async () => redis.quit().catch(() => redis.disconnect()) },
    { name: 'service', close: () => service.close() },
  ];
  let api = service;
  if (needs.apiKeys && !apiOnly) {
    const apiRedis = connectRedis(config, `fulfillment-${name}-api`, {
      commandTimeoutMs: API_COMMAND_TIMEOUT_MS,
    });
    apiRedis.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
    api = new Fulfillment(config, apiRedis, onQueueError);
    const apiService = api;
    closers.push(
      { name: 'api redis', close: async () => apiRedis.quit().catch(() => apiRedis.disconnect()) },
      { name: 'api service', close: () => apiService.close() },
    );
  }
  // The API process owns the records store (workers only write to Redis): opened before any worker,
  // so that in `npm start` no job finishes before the records group reads the outbox.
  const records = needs.apiKeys
    ? await orExit(openRecordsStore({ config, redis, log }), RecordsStoreRefused)
    : null;
  if (records?.closer) closers.push(records.closer);
  if (records !== null) await ensureRecordsGroup(redis, config.prefix);
  if (queues.length > 0) {
    // With records in PostgreSQL, the outbox must be read by them before any job can finish.
    if (config.databaseUrl !== null) await ensureRecordsGroup(redis, config.prefix);
    // Before the first job: know Redis's clock, publish the accounts' rates, and pay the HTTP
    // clients' first-call costs.
    const changed = await service.limiter.calibrate(config.accounts);
    if (changed > 0)
      log.info({ accounts: changed }, 'published new account rates; every process enforces them');
    await warmUpClients(config.upstreamTimeoutMs);
    // Connections to the upstreams the accounts use, ready for their first slots.
    upstreams.preconnect(config.accounts.map((account) => account.provider));
  }
  const workers = queues.map((queue) =>
    createQueueWorker(service, queue, { connection: redis, upstreams, log, observer: needs.observer }),
  );
  if (workers.length > 0) {
    // Every queue stops taking jobs at the same moment, then they drain side by side.
    closers.push(
      closeTogether(
        'workers',
        workers.map((worker, i) => ({ name: `worker ${queues[i]}`, close: (force) => worker.close(force) })),
      ),
    );
  }
  if (queues.length > 0) {
    // Calls left in flight by jobs that never ran again (removed, or failed for stalling too often)
    // become "unknown" ledger entries once they are surely over: older than any live call can be.
    const staleAfterMs = config.upstreamTimeoutMs + 2 * config.lockDurationMs + 60_000;
    const sweep = () => {
      for (const queue of queues) {
        service.deadLetters
          .sweepFailed(queue)
          .catch((err: unknown) => log.error({ err, queue }, 'dead-letter sweep failed'));
      }
      service.ledger
        .recoverStale(staleAfterMs)
        .then((entries) => {
          if (entries.length > 0)
            log.warn({ entries: entries.length }, 'stale in-flight calls recorded as charge unknown');
        })
        .catch((err: unknown) => log.error({ err }, 'ledger sweep failed'));
    };
    sweep();
    const timer = setInterval(sweep, SWEEP_EVERY_MS);
    timer.unref();
    closers.push({ name: 'sweeper', close: async () => clearInterval(timer) });
  }
  shutdownOnSignal(closers, config.shutdownGraceMs, log);
  log.info({ queues, prefix: config.prefix, accounts: config.accounts.length }, 'started');
  // Settings that start but put something at risk (a token over plain http): once, at start.
  for (const warning of config.warnings) log.warn(warning);
  return { config, log, service, api, workers, records, onClose: (closer) => closers.push(closer) };
}

/**
 * What `work` gives; a refusal of class `Refusal` (the limiter's or the records store's: a setting
 * that cannot work here) is its one line on stderr and exit 1. Anything else is thrown on.
 */
async function orExit<T>(work: Promise<T>, Refusal: abstract new (...args: never[]) => Error): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (!(err instanceof Refusal)) throw err;
    process.stderr.write(`fulfillment: ${err.message}\n`);
    process.exit(1);
  }
}
