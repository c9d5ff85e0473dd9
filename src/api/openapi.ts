import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify';
import { producerMay } from './auth.js';
import { addComponentSchemas } from './components.js';

/** Where the page of the document is served (its assets under /docs/static, from node_modules). */
export const DOCS_PATH = '/docs';

const DESCRIPTION =
  'Enqueue shipments and order synchronisations for the vv-tool and damaijia upstreams, and operate the ' +
  'pipeline: job status, dead letters, the coupon ledger, held accounts. Every 4xx and 5xx answer is ' +
  'an RFC 9457 problem (application/problem+json) with `type`, `title`, `status`, `detail`, and ' +
  '`error` and `issues: [{ path, message }]` as before. Times are ISO 8601.';

const TAGS = [
  { name: 'jobs', description: 'Enqueue ship and sync jobs, look jobs up' },
  { name: 'dead-letter', description: 'Jobs that died: list, redrive (with a patch), purge' },
  { name: 'ledger', description: 'Point-coupon spend: totals and entries' },
  { name: 'accounts', description: 'Upstream accounts and their held/active state' },
  { name: 'operations', description: 'Probes and metrics (no API key)' },
];

const SECURITY_SCHEMES = {
  operatorKey: {
    type: 'http',
    scheme: 'bearer',
    description: 'An operator key: one of API_KEYS. Every /v1 route.',
  },
  producerKey: {
    type: 'http',
    scheme: 'bearer',
    description:
      'A producer key: one of PRODUCER_API_KEYS. Enqueue (POST /v1/ship, /v1/sync, /v1/batch) and read jobs ' +
      '(GET /v1/jobs…) only; any other /v1 route answers it 403.',
  },
  adminBasic: {
    type: 'http',
    scheme: 'basic',
    description:
      'ADMIN_USER and ADMIN_PASSWORD: Bull Board at /admin/queues only (a page, not an API route, so not listed here).',
  },
} as const;

/** The description of a success answer that does not give its own. */
const SUCCESS_TEXT: Readonly<Record<string, string>> = {
  200: 'OK',
  202: 'Accepted',
  204: 'Done, no content',
};

/**
 * The OpenAPI 3.1 document made by @fastify/swagger from the route schemas and the named components,
 * served at GET /openapi.json, and Swagger UI rendering it at /docs. Call before any route is added:
 * the components must exist for the routes' `$ref`s, and the plugin collects routes as they come.
 * Both are public: the document describes the API and holds no key, token or account of this deployment.
 */
export async function mountOpenApi(app: FastifyInstance): Promise<void> {
  addComponentSchemas(app);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Fulfillment worker API', version: '1.0.0', description: DESCRIPTION },
      servers: [{ url: '/', description: 'This service, wherever it listens' }],
      tags: TAGS,
      components: { securitySchemes: SECURITY_SCHEMES },
    },
    // Components are named by their $id, as the routes' `$ref`s name them.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json['$id'] ?? `def-${i}`) },
    transform: ({ schema, url, route }) => ({ schema: documented(schema, url, route), url }),
    // OpenAPI 3.1 is JSON Schema 2020-12: `const` stays as the route schemas say it.
    convertConstToEnum: false,
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(swaggerUi, {
    routePrefix: DOCS_PATH,
    // Nothing leaves the service: no validator badge, no key kept in the browser's storage.
    validatorUrl: false,
    uiConfig: { deepLinking: true, persistAuthorization: false, defaultModelsExpandDepth: 0 },
    staticCSP:
      "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
      "connect-src 'self'; font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    theme: { title: 'Fulfillment worker API' },
  });
}

/**
 * A route's schema as the document shows it: routes without a schema (Bull Board's) left out, and
 * each operation given an id, its keys, and a description for every answer.
 */
function documented(schema: FastifySchema | undefined, url: string, route: RouteOptions): FastifySchema {
  if (!schema) return { hide: true };
  const method = (Array.isArray(route.method) ? route.method[0] : route.method) ?? 'GET';
  const responses = Object.fromEntries(
    Object.entries((schema.response ?? {}) as Record<string, Record<string, unknown>>).map(
      ([status, answer]) => [
        status,
        answer['description'] === undefined
          ? { ...answer, description: SUCCESS_TEXT[status] ?? status }
          : answer,
      ],
    ),
  );
  return {
    ...schema,
    operationId: operationId(method, url),
    response: responses,
    ...(url.startsWith('/v1/') ? { security: securityOf(method, url) } : {}),
  };
}

/** Operator keys open every /v1 route; producer keys the ones `producerMay` lets through. */
function securityOf(method: string, url: string): Record<string, string[]>[] {
  const operator = { operatorKey: [] };
  return producerMay(method, url) ? [operator, { producerKey: [] }] : [operator];
}

/** `POST /v1/accounts/:id/hold` → postV1AccountsByIdHold. */
function operationId(method: string, url: string): string {
  const words = url
    .split('/')
    .filter(Boolean)
    .map((part) => (part.startsWith(':') ? `by-${part.slice(1)}` : part))
    .flatMap((part) => part.split(/[^A-Za-z0-9]+/))
    .filter(Boolean);
  return method.toLowerCase() + words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join('');
}
