import { Validator } from '@seriousme/openapi-schema-validator';
import { Compile } from 'typebox/compile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, shipBody, startHarness, syncBody } from './harness.js';

type Json = Record<string, unknown>;
interface Operation {
  operationId: string;
  summary?: string;
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ name: string; in: string; required: boolean; schema: Json }>;
  requestBody?: { content: Record<string, { schema: Json }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: Json }> }>;
}

let h: Harness;
let doc: { openapi: string; info: Json; paths: Record<string, Record<string, Operation>>; components: Json };

/** The named schemas the routes share (components.schemas). */
const NAMED = [
  'Problem',
  'Issue',
  'VvtoolSendJob',
  'DamaijiaDeliveryJob',
  'DamaijiaSyncJob',
  'ShipRequest',
  'BatchRequest',
  'EnqueueResult',
  'BatchResult',
  'Job',
  'JobList',
  'DeadLetter',
  'DeadLetterList',
  'RedriveRequest',
  'RedriveResult',
  'LedgerSummary',
  'LedgerEntry',
  'LedgerEntryList',
  'Account',
  'AccountList',
  'HoldRequest',
  'HoldResult',
  'ResumeResult',
  'HealthStatus',
];

/** The operations a producer key may call. */
const PRODUCER_MAY = new Set([
  'POST /v1/ship',
  'POST /v1/sync',
  'POST /v1/batch',
  'GET /v1/jobs/{id}',
  'GET /v1/jobs',
]);

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

beforeAll(async () => {
  h = await startHarness('api-openapi');
  const response = await h.inject({ url: '/openapi.json' });
  expect(response.statusCode).toBe(200);
  doc = response.json();
});

afterAll(async () => {
  await h.close();
});

const schemas = () => doc.components['schemas'] as Record<string, Json>;

/** `schema` with each `$ref` to a component replaced by the component: what a validator sees. */
function inline(schema: unknown): unknown {
  if (typeof schema !== 'object' || schema === null) return schema;
  if (Array.isArray(schema)) return schema.map(inline);
  const ref = (schema as Json)['$ref'];
  if (typeof ref === 'string') return inline(schemas()[ref.replace('#/components/schemas/', '')]);
  return Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, inline(value)]));
}

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ path, method, op })),
  );

describe('GET /openapi.json', () => {
  it('validates as OpenAPI 3.1', async () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('is an OpenAPI 3 document with info and paths', () => {
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(typeof doc.info['title']).toBe('string');
    expect(typeof doc.info['version']).toBe('string');
    expect(Object.keys(doc.paths).length).toBeGreaterThan(0);
    for (const path of Object.keys(doc.paths)) expect(path).toMatch(/^\//);
  });

  it('covers every /v1 route of the public contract', () => {
    const v1 = operations()
      .filter(({ path }) => path.startsWith('/v1/'))
      .map(({ path, method }) => `${method.toUpperCase()} ${path}`)
      .sort();
    expect(v1).toEqual([
      'DELETE /v1/dead-letter/{id}',
      'GET /v1/accounts',
      'GET /v1/dead-letter',
      'GET /v1/jobs',
      'GET /v1/jobs/{id}',
      'GET /v1/ledger/entries',
      'GET /v1/ledger/summary',
      'POST /v1/accounts/{id}/hold',
      'POST /v1/accounts/{id}/resume',
      'POST /v1/batch',
      'POST /v1/dead-letter/redrive',
      'POST /v1/ship',
      'POST /v1/sync',
    ]);
  });

  it('gives each operation a unique id, a summary and described responses with a success', () => {
    const ids = new Set<string>();
    for (const { path, method, op } of operations()) {
      expect(METHODS.has(method), `${method} ${path}`).toBe(true);
      expect(op.operationId).toMatch(/^[A-Za-z0-9]+$/);
      expect(ids.has(op.operationId), op.operationId).toBe(false);
      ids.add(op.operationId);
      expect(typeof op.summary).toBe('string');
      const statuses = Object.keys(op.responses);
      expect(
        statuses.some((status) => /^2\d\d$/.test(status)),
        `${method} ${path}`,
      ).toBe(true);
      for (const [status, response] of Object.entries(op.responses)) {
        expect(status).toMatch(/^[1-5]\d\d$/);
        expect(typeof response.description).toBe('string');
      }
      if (op.responses['401']) expect(op.responses['401'].description).toBe('Missing or unknown API key');
    }
  });

  it('declares every path parameter, required', () => {
    for (const { path, op } of operations()) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
      const declared = (op.parameters ?? []).filter((p) => p.in === 'path');
      expect(declared.map((p) => p.name)).toEqual(names);
      for (const parameter of declared) expect(parameter.required).toBe(true);
      for (const parameter of op.parameters ?? []) expect(['path', 'query']).toContain(parameter.in);
    }
  });

  it('puts the operator key on every /v1 operation, the producer key where it may go, and a 401 problem', () => {
    const schemes = (doc.components['securitySchemes'] ?? {}) as Record<string, Json>;
    for (const { path, method, op } of operations()) {
      if (!path.startsWith('/v1/')) {
        expect(op.security).toBeUndefined();
        continue;
      }
      const producer = PRODUCER_MAY.has(`${method.toUpperCase()} ${path}`);
      expect(op.security, `${method} ${path}`).toEqual(
        producer ? [{ operatorKey: [] }, { producerKey: [] }] : [{ operatorKey: [] }],
      );
      const ref = op.responses['401']?.content?.['application/problem+json']?.schema as Json;
      expect(ref).toEqual({ $ref: '#/components/schemas/Problem' });
    }
    const problem = schemas()['Problem']!;
    expect(Object.keys(problem['properties'] as Json).sort()).toEqual([
      'detail',
      'error',
      'issues',
      'status',
      'title',
      'type',
    ]);
    expect(schemes['operatorKey']).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    expect(schemes['producerKey']).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    expect(schemes['adminBasic']).toEqual(expect.objectContaining({ type: 'http', scheme: 'basic' }));
  });

  it('names the shared schemas as components, and the routes point at them', () => {
    expect(Object.keys(schemas())).toEqual(expect.arrayContaining(NAMED));
    const body = (path: string) => doc.paths[path]!['post']!.requestBody!.content['application/json']!.schema;
    const answer = (path: string, method: string, status: string) =>
      doc.paths[path]![method]!.responses[status]!.content!['application/json']!.schema;
    expect(body('/v1/ship')).toEqual({ $ref: '#/components/schemas/ShipRequest' });
    expect(body('/v1/sync')).toEqual({ $ref: '#/components/schemas/DamaijiaSyncJob' });
    expect(body('/v1/batch')).toEqual({ $ref: '#/components/schemas/BatchRequest' });
    expect(body('/v1/dead-letter/redrive')).toEqual({ $ref: '#/components/schemas/RedriveRequest' });
    expect(answer('/v1/jobs/{id}', 'get', '200')).toEqual({ $ref: '#/components/schemas/Job' });
    expect(answer('/v1/dead-letter', 'get', '200')).toEqual({ $ref: '#/components/schemas/DeadLetterList' });
    expect(answer('/v1/ledger/entries', 'get', '200')).toEqual({
      $ref: '#/components/schemas/LedgerEntryList',
    });
    expect(answer('/v1/accounts', 'get', '200')).toEqual({ $ref: '#/components/schemas/AccountList' });
    // A list envelope refers to its item, the ship request to the payload of each job kind.
    expect(JSON.stringify(schemas()['LedgerEntryList'])).toContain('"#/components/schemas/LedgerEntry"');
    expect(JSON.stringify(schemas()['ShipRequest'])).toContain('"#/components/schemas/VvtoolSendJob"');
    // Every $ref in the document resolves.
    for (const target of JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)) {
      expect(target[1]).toMatch(/^#\/components\/schemas\//);
      expect(schemas()[target[1]!.split('/').pop()!], target[1]).toBeDefined();
    }
  });

  it('gives the job payloads and the error answers examples, each valid against its schema', () => {
    for (const name of [
      'VvtoolSendJob',
      'DamaijiaDeliveryJob',
      'DamaijiaSyncJob',
      'ShipRequest',
      'BatchRequest',
    ])
      expect((schemas()[name]!['examples'] as unknown[] | undefined)?.length, name).toBeGreaterThan(0);
    for (const [name, schema] of Object.entries(schemas())) {
      const check = Compile(inline(schema) as never);
      for (const example of (schema['examples'] as unknown[] | undefined) ?? [])
        expect(check.Check(example), `${name} ${JSON.stringify(example)}`).toBe(true);
    }
    // Each error answer shows a problem of its own status, valid against Problem.
    const problem = Compile(inline(schemas()['Problem']) as never);
    for (const { op } of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        const media = response.content?.['application/problem+json'] as { example?: Json } | undefined;
        if (!media) continue;
        expect(problem.Check(media.example), `${op.operationId} ${status}`).toBe(true);
        expect(media.example?.['status']).toBe(Number(status));
      }
    }
    expect(doc.paths['/v1/ship']!['post']!.responses['503']).toMatchObject({
      headers: { 'retry-after': {} },
    });
  });

  it('documents limit (at most 1000) and cursor on the list routes', () => {
    for (const path of ['/v1/dead-letter', '/v1/ledger/entries']) {
      const parameters = doc.paths[path]!['get']!.parameters ?? [];
      const limit = parameters.find((p) => p.name === 'limit');
      expect(limit?.schema).toMatchObject({ type: 'integer', maximum: 1000, default: 100 });
      expect(parameters.map((p) => p.name)).toContain('cursor');
    }
    const entries = doc.paths['/v1/ledger/entries']!['get']!.responses['200']!.content!;
    expect(Object.keys(entries).sort()).toEqual(['application/json', 'text/csv']);
  });

  it('holds schemas a validator compiles, and that mean what the API does', () => {
    for (const { op } of operations()) {
      const schemas = [
        ...(op.parameters ?? []).map((p) => p.schema),
        ...Object.values(op.requestBody?.content ?? {}).map((c) => c.schema),
        ...Object.values(op.responses).flatMap((r) => Object.values(r.content ?? {}).map((c) => c.schema)),
      ];
      for (const schema of schemas) expect(() => Compile(inline(schema) as never)).not.toThrow();
    }
    const ship = Compile(
      inline(doc.paths['/v1/ship']!['post']!.requestBody!.content['application/json']!.schema) as never,
    );
    expect(ship.Check(shipBody())).toBe(true);
    expect(ship.Check(shipBody({ tid: 'abc' }))).toBe(false);
    expect(ship.Check(shipBody({ unknown: 1 }))).toBe(false);
    const batch = Compile(
      inline(doc.paths['/v1/batch']!['post']!.requestBody!.content['application/json']!.schema) as never,
    );
    expect(batch.Check({ jobs: [{ type: 'sync', ...syncBody() }] })).toBe(true);
    expect(batch.Check({ jobs: [{ type: 'nope', ...syncBody() }] })).toBe(false);
  });

  it('needs no key', async () => {
    expect(
      (await h.inject({ url: '/openapi.json', headers: { authorization: 'Bearer wrong' } })).statusCode,
    ).toBe(200);
  });
});

describe('GET /docs', () => {
  it('serves Swagger UI with its assets from this service, under a policy that loads nothing else', async () => {
    const response = await h.inject({ url: '/docs', headers: { authorization: 'Bearer wrong' } });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    const policy = String(response.headers['content-security-policy']);
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("script-src 'self';");
    expect(policy).toContain("connect-src 'self';");
    const html = response.body;
    expect(html).toContain('<div id="swagger-ui">');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(assets).toContain('/docs/static/swagger-ui-bundle.js');
    for (const asset of assets) {
      const answer = await h.inject({ url: asset });
      expect(answer.statusCode, asset).toBe(200);
    }
  });

  it('points the page at the same document as /openapi.json', async () => {
    const initializer = await h.inject({ url: '/docs/static/swagger-initializer.js' });
    expect(initializer.body).toContain("resolveUrl('./json')");
    expect(initializer.body).toContain('validatorUrl: null');
    expect((await h.inject({ url: '/docs/json' })).json()).toEqual(doc);
  });
});
