import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Metrics } from '../../metrics/index.js';
import { withTimeout } from '../../metrics/index.js';
import type { Fulfillment } from '../../queues/service.js';
import { answer } from '../components.js';
import { HealthStatus } from '../schemas.js';

/** How long /readyz waits for Redis to answer PING. */
const READY_TIMEOUT_MS = 1_000;

/** GET /healthz, GET /readyz, GET /metrics: no key (probes and scrapers carry none). */
export const healthRoutes: FastifyPluginAsyncTypebox<{ service: Fulfillment; metrics: Metrics }> = async (
  app,
  { service, metrics },
) => {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'The process is up (does not touch Redis)',
        tags: ['operations'],
        response: { 200: answer('Up', HealthStatus) },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Redis answers PING within a second; 503 otherwise. Lists warnings about the settings',
        tags: ['operations'],
        response: {
          200: answer('Ready', HealthStatus),
          503: answer('Not ready: Redis does not answer', HealthStatus),
        },
      },
    },
    async (_request, reply) => {
      const redis = service.redis;
      // Readiness is Redis; the warnings ride along so that whoever probes sees them too.
      const warnings = service.config.warnings.length > 0 ? { warnings: [...service.config.warnings] } : {};
      // A connection that is not up would queue the PING until it is: answer at once instead.
      const answer =
        redis.status === 'ready' ? await withTimeout(redis.ping(), READY_TIMEOUT_MS).catch(() => null) : null;
      if (answer === 'PONG') return { status: 'ready', redis: 'ok', ...warnings };
      return reply.code(503).send({
        status: 'unavailable',
        redis: answer === null ? 'unreachable' : 'unexpected answer',
        ...warnings,
      });
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics (text exposition format)',
        tags: ['operations'],
        response: { 200: { description: 'Metrics', content: { 'text/plain': { schema: Type.String() } } } },
      },
    },
    async (_request, reply) => reply.type(metrics.contentType).send(await metrics.scrape()),
  );
};
