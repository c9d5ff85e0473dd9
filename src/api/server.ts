import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Config } from '../config/index.js';
import { MAX_KEY_LENGTH } from '../jobs/index.js';
import type { Logger } from '../log.js';
import { Metrics } from '../metrics/index.js';
import { RedisUnavailableError, redisAway } from '../queues/producer.js';
import type { Fulfillment } from '../queues/service.js';
import type { SqlJobsReader } from '../records/jobs-reader.js';
import type { LedgerReader } from '../records/ledger-reader.js';
import { bearerAuth } from './auth.js';
import { mountBoard } from './board.js';
import { errorReply, sendProblem } from './errors.js';
import { parseJsonBody } from './json-body.js';
import { mountOpenApi } from './openapi.js';
import { accountRoutes } from './routes/accounts.js';
import { deadLetterRoutes } from './routes/dead-letter.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { ledgerRoutes } from './routes/ledger.js';
import { validatorCompiler } from './validation.js';

/** Retry-After (s) of a /v1 answer given while Redis is away. */
const REDIS_AWAY_RETRY_AFTER_S = '5';
/** Routes whose body is checked in the handler: a bad one is a 400 even while Redis is away. */
const VALIDATED_IN_HANDLER = new Set(['/v1/ship', '/v1/sync', '/v1/batch']);

/** Request bodies above this are refused with a 413 (a batch of 1,000 jobs fits in about a third). */
export const BODY_LIMIT = 1024 * 1024;

/**
 * A request not answered within this long gets a 503 with Retry-After: the net under the Redis
 * command timeout, for a route that waits on several slow commands in a row, or on the database.
 */
export const REQUEST_TIMEOUT_MS = 15_000;

export interface BuildServerOptions {
  readonly service: Fulfillment;
  readonly config: Config;
  readonly log: Logger;
  /** The process's metrics (the workers feed the same one in `npm start`); a fresh one otherwise. */
  readonly metrics?: Metrics;
  /** Overrides REQUEST_TIMEOUT_MS. */
  readonly requestTimeoutMs?: number;
  /** Where the ledger routes read (PostgreSQL, with DATABASE_URL); the service's Redis ledger otherwise. */
  readonly ledger?: LedgerReader;
  /** Finished jobs in PostgreSQL (with DATABASE_URL): GET /v1/jobs/:id falls back to it, GET /v1/jobs lists it. */
  readonly jobs?: SqlJobsReader;
}

/**
 * The HTTP API (docs/design.md, "The public contract"): /v1 behind bearer keys, probes, metrics, the OpenAPI
 * document and its page, and Bull Board. Does not listen: the caller does (or tests `inject`).
 */
export async function buildServer(options: BuildServerOptions): Promise<FastifyInstance> {
  const { service, config, log } = options;
  const metrics = (options.metrics ?? new Metrics()).watch(service);
  const httpLog: FastifyBaseLogger = log.child({ component: 'http' });
  const app = Fastify({
    loggerInstance: httpLog,
    // One line per request is noise at this rate; failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    // Answered through the error handler as a 503 with Retry-After (see errors.ts).
    handlerTimeout: options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
    // A job id is its idempotency key, far longer than the router's default 100 characters for a
    // split shipment or an escaped order number. The router measures a parameter once URL-decoded,
    // so the key's own longest length is the bound.
    routerOptions: { maxParamLength: MAX_KEY_LENGTH },
  });

  app.setValidatorCompiler(validatorCompiler);
  // JSON only, parsed by us: forbidden keys are refused by name (see json-body.ts), other media 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(String(body)));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  app.setErrorHandler((err, request, reply) => {
    const answer = errorReply(err);
    if (answer?.status === 503) reply.header('retry-after', REDIS_AWAY_RETRY_AFTER_S);
    if (answer) return sendProblem(reply, answer.status, answer.body);
    request.log.error({ err, route: request.routeOptions.url }, 'request failed');
    return sendProblem(reply, 500, { error: 'internal error', issues: [] });
  });
  app.setNotFoundHandler((request, reply) => {
    // The path is not echoed: a key or token pasted into a URL by mistake must not come back in answers.
    return sendProblem(reply, 404, {
      error: 'not found',
      issues: [
        { path: 'url', message: `no ${request.method} route at this path; the routes are listed at /docs` },
      ],
    });
  });

  app.addHook('onResponse', async (request, reply) => {
    metrics.httpRequest({
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: reply.statusCode,
      seconds: reply.elapsedTime / 1000,
    });
  });

  // Before the routes: their schemas refer to its components, and it collects them as they are added.
  await mountOpenApi(app);

  await app.register(healthRoutes, { service, metrics });
  await app.register(
    async (v1) => {
      // Scoped to this context (Fastify encapsulation): probes, metrics and docs stay open. A producer
      // key is refused here (403) on every route but enqueue and job reads, before anything is read.
      v1.decorateRequest('caller', null);
      v1.addHook('onRequest', bearerAuth({ operator: config.apiKeys, producer: config.producerApiKeys }));
      // After auth and validation (a bad key or body is told so whatever Redis does): with Redis away,
      // answer at once instead of queueing the request's commands until it is back. A connection
      // still being made at start-up is let through: its commands wait for it briefly.
      // Enqueue routes validate in the handler and the producer refuses after that (a
      // RedisUnavailableError, answered alike by the error handler).
      v1.addHook('preHandler', async (request) => {
        if (!redisAway(service.redis)) return;
        if (VALIDATED_IN_HANDLER.has(request.routeOptions.url ?? '')) return;
        throw new RedisUnavailableError();
      });
      await v1.register(jobRoutes, { service, ...(options.jobs ? { jobs: options.jobs } : {}) });
      await v1.register(deadLetterRoutes, { service });
      await v1.register(ledgerRoutes, { service, ...(options.ledger ? { ledger: options.ledger } : {}) });
      await v1.register(accountRoutes, { service });
    },
    { prefix: '/v1' },
  );

  await mountBoard(app, { service, config, log });
  return app;
}
