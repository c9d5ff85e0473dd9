import type { FastifySchema } from 'fastify';
import { ErrorBody as ProblemSchema } from './schemas.js';

declare module 'fastify' {
  /** Documentation fields on route schemas (the names @fastify/swagger uses), read by the OpenAPI builder. */
  interface FastifySchema {
    summary?: string;
    description?: string;
    tags?: readonly string[];
    /** Left out of the OpenAPI document. */
    hide?: boolean;
  }
}

export interface DocumentedRoute {
  readonly method: string;
  readonly url: string;
  readonly schema: FastifySchema;
  /** Needs `Authorization: Bearer <api key>`. */
  readonly secured: boolean;
}

type Json = Record<string, unknown>;

export interface OpenApiDocument extends Json {
  openapi: string;
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, Json>>;
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  202: 'Accepted: enqueued, or the existing job with this key',
  204: 'Done, no content',
  400: 'Invalid request: every problem named by field',
  401: 'Missing or unknown API key',
  403: 'A producer key (PRODUCER_API_KEYS): it may only enqueue and read jobs; nothing was done',
  404: 'Not found',
  413: 'Request body over 1 MiB',
  503: 'Not ready: Redis is away (nothing was done; retry after Retry-After seconds)',
};

const TAGS = [
  { name: 'jobs', description: 'Enqueue ship and sync jobs, look jobs up' },
  { name: 'dead-letter', description: 'Jobs that died: list, redrive (with a patch), purge' },
  { name: 'ledger', description: 'Point-coupon spend: totals and entries' },
  { name: 'accounts', description: 'Upstream accounts and their held/active state' },
  { name: 'operations', description: 'Probes and metrics (no API key)' },
];

/** The OpenAPI 3.1 document of the routes, made from the same schemas Fastify validates with. */
export function openApiDocument(routes: readonly DocumentedRoute[]): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const method = route.method.toLowerCase();
    paths[path] ??= {};
    paths[path][method] = operation(route, path, method);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Fulfillment worker API',
      version: '1.0.0',
      description:
        'Enqueue shipments and order synchronisations for the vv-tool and damaijia upstreams, and operate the ' +
        'pipeline: job status, dead letters, the coupon ledger, held accounts. Every 4xx and 5xx answer is ' +
        'an RFC 9457 problem (application/problem+json) with `type`, `title`, `status`, `detail`, and ' +
        '`error` and `issues: [{ path, message }]` as before. Times are ISO 8601.',
    },
    servers: [{ url: '/', description: 'This service, wherever it listens' }],
    tags: TAGS,
    components: {
      schemas: { Problem: plain(ProblemSchema) },
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description:
            'One of the keys in API_KEYS (every route), or in PRODUCER_API_KEYS (enqueue and read jobs only)',
        },
      },
    },
    paths,
  };
}

function operation(route: DocumentedRoute, path: string, method: string): Json {
  const { schema } = route;
  const op: Json = { operationId: operationId(method, path) };
  if (schema.summary) op['summary'] = schema.summary;
  if (schema.description) op['description'] = schema.description;
  if (schema.tags) op['tags'] = [...schema.tags];
  if (route.secured) op['security'] = [{ apiKey: [] }];
  const parameters = [...parametersOf(schema.params, 'path'), ...parametersOf(schema.querystring, 'query')];
  if (parameters.length > 0) op['parameters'] = parameters;
  if (schema.body) {
    op['requestBody'] = { required: true, content: { 'application/json': { schema: plain(schema.body) } } };
  }
  const responses: Json = {};
  for (const [status, response] of Object.entries((schema.response ?? {}) as Record<string, unknown>)) {
    responses[status] = responseOf(Number(status), plain(response));
  }
  op['responses'] = responses;
  return op;
}

/** Every error answer points at the one named problem schema. */
const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };

function responseOf(status: number, schema: Json): Json {
  // Error answers share one schema (and its description); what tells them apart is the status.
  const own = typeof schema['description'] === 'string' ? schema['description'] : undefined;
  const text = (status >= 400 ? STATUS_TEXT[status] : own) ?? own ?? STATUS_TEXT[status] ?? String(status);
  if (schema['content'] && typeof schema['content'] === 'object')
    return { description: text, content: schema['content'] };
  if (schema['type'] === 'null') return { description: text };
  // Error answers (the schema titled Problem) are RFC 9457 problems; /readyz's 503 is a status report.
  if (schema['title'] === 'Problem')
    return { description: text, content: { 'application/problem+json': { schema: PROBLEM_REF } } };
  return { description: text, content: { 'application/json': { schema } } };
}

function parametersOf(schema: unknown, where: 'path' | 'query'): Json[] {
  if (!schema) return [];
  const object = plain(schema) as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(object.properties ?? {}).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: where,
      required: where === 'path' || (object.required ?? []).includes(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    };
  });
}

/** The JSON Schema alone: TypeBox's own markers and codec functions are not enumerable, so JSON drops them. */
function plain(schema: unknown): Json {
  return JSON.parse(JSON.stringify(schema)) as Json;
}

function operationId(method: string, path: string): string {
  const words = path
    .split('/')
    .filter(Boolean)
    .map((part) => (part.startsWith('{') ? `by-${part.slice(1, -1)}` : part))
    .flatMap((part) => part.split(/[^A-Za-z0-9]+/))
    .filter(Boolean);
  return method + words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join('');
}
