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

  it('puts the bearer key on every /v1 operation, and a 401 in the error shape', () => {
    const schemes = (doc.components['securitySchemes'] ?? {}) as Record<string, Json>;
    for (const { path, op } of operations()) {
      if (!path.startsWith('/v1/')) {
        expect(op.security).toBeUndefined();
        continue;
      }
      expect(op.security).toEqual([{ apiKey: [] }]);
      const ref = op.responses['401']?.content?.['application/problem+json']?.schema as Json;
      expect(ref).toEqual({ $ref: '#/components/schemas/Problem' });
      const error = (doc.components['schemas'] as Record<string, Json>)['Problem'] as Json;
      expect(Object.keys(error['properties'] as Json).sort()).toEqual([
        'detail',
        'error',
        'issues',
        'status',
        'title',
        'type',
      ]);
    }
    expect(schemes['apiKey']).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
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
      for (const schema of schemas) expect(() => Compile(schema as never)).not.toThrow();
    }
    const ship = Compile(
      doc.paths['/v1/ship']!['post']!.requestBody!.content['application/json']!.schema as never,
    );
    expect(ship.Check(shipBody())).toBe(true);
    expect(ship.Check(shipBody({ tid: 'abc' }))).toBe(false);
    expect(ship.Check(shipBody({ unknown: 1 }))).toBe(false);
    const batch = Compile(
      doc.paths['/v1/batch']!['post']!.requestBody!.content['application/json']!.schema as never,
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
  it('renders every operation of the document in one self-contained page', async () => {
    const response = await h.inject({ url: '/docs' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.headers['content-security-policy']).toContain("default-src 'none'");
    const html = response.body;
    for (const { path, method } of operations())
      expect(html).toContain(`${method.toUpperCase()}</span>${path}`);
    expect(html).not.toMatch(/<script|src="http|href="http/);
    expect(html).toContain('Authorization: Bearer &lt;api key&gt;');
  });
});
