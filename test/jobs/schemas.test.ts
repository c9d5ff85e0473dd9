import { readdirSync, readFileSync } from 'node:fs';
import { type TypeBoxTypeProvider, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import Fastify from 'fastify';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type BatchRequestBody,
  type JobData,
  type JobPayloads,
  PAYLOAD_FIELDS,
  type ShipRequestBody,
  schemas,
  type VvtoolSend,
  validateBatch,
  validateJob,
} from '../../src/jobs/index.js';
import { JSON_SCHEMA_DRAFT, renderSchemaFiles, SCHEMA_FILES } from '../../src/jobs/json-schema.js';
import type {
  DamaijiaDeliveryRequest,
  DamaijiaSyncRequest,
  VvtoolSendRequest,
} from '../../src/upstreams/types.js';
import { accounts, delivery, sync, vvtool } from './fixtures.js';

const dir = new URL('../../schemas/', import.meta.url);

describe('the committed JSON Schema files', () => {
  it('are exactly what scripts/gen-schemas.ts writes now (run it after changing a shape)', () => {
    const expected = renderSchemaFiles();
    const committed = readdirSync(dir).filter((name) => name.endsWith('.json'));
    expect(committed.sort()).toEqual([...expected.keys()].sort());
    for (const [name, text] of expected) {
      expect(readFileSync(new URL(name, dir), 'utf8'), `schemas/${name}`).toBe(text);
    }
  });

  it.each(Object.keys(SCHEMA_FILES))('%s has $schema, $id, title and description', (name) => {
    const doc = JSON.parse(readFileSync(new URL(name, dir), 'utf8'));
    expect(doc.$schema).toBe(JSON_SCHEMA_DRAFT);
    expect(doc.$id).toMatch(/^urn:fulfillment-worker:schema:/);
    expect(doc.title).toEqual(expect.any(String));
    expect(doc.description).toEqual(expect.any(String));
    expect(JSON.stringify(doc)).not.toContain('~');
  });

  it('describe every field, since the description is the message people read', () => {
    for (const name of ['vvtool.send', 'damaijia.delivery', 'damaijia.sync'] as const) {
      for (const [field, schema] of Object.entries(schemas[name].properties)) {
        expect((schema as { description?: unknown }).description, `${name}.${field}`).toEqual(
          expect.any(String),
        );
      }
      expect(Object.keys(schemas[name].properties)).toEqual(['account', ...PAYLOAD_FIELDS[name]]);
    }
  });

  describe('read by another validator (Ajv, draft-07, strict) they agree with validateJob', () => {
    const ajv = new Ajv({ strict: true, allErrors: true });
    const load = (name: string) => ajv.compile(JSON.parse(readFileSync(new URL(name, dir), 'utf8')));
    const ship = load('ship-request.json');
    const syncRequest = load('sync-request.json');
    const batch = load('batch-request.json');
    const samples: [string, Record<string, unknown>][] = [
      ['vvtool', vvtool()],
      ['vvtool numeric tid', { ...vvtool(), tid: 42 }],
      ['vvtool unsafe tid', { ...vvtool(), tid: 2 ** 53 }],
      ['vvtool split', { ...vvtool(), sub_tid: '2,1', is_split: 1 }],
      ['vvtool sub_tid alone', { ...vvtool(), sub_tid: '2,1' }],
      ['vvtool is_split alone', { ...vvtool(), is_split: 0 }],
      ['vvtool control char', { ...vvtool(), feature: 'a\u0007' }],
      ['vvtool 256 emoji', { ...vvtool(), shop_id: '😀'.repeat(256) }],
      ['vvtool 257 emoji', { ...vvtool(), shop_id: '😀'.repeat(257) }],
      ['vvtool lone surrogate', { ...vvtool(), shop_id: 'a\ud800' }],
      ['vvtool unknown field', { ...vvtool(), color: 'red' }],
      ['vvtool with damaijia field', { ...vvtool(), seller_nick: 'x' }],
      ['delivery', delivery()],
      ['delivery bad carrier', { ...delivery(), wp_code: 'Z' }],
      ['delivery missing waybill', { ...delivery(), waybill_no: undefined }],
    ];

    it.each(samples)('ship: %s', (_, input) => {
      const body = JSON.parse(JSON.stringify(input));
      expect(ship(body)).toBe(validateJob('ship', body, accounts).ok);
    });

    it.each([
      ['sync', sync()],
      ['sync long', { ...sync(), ownerId: 'x'.repeat(257) }],
      ['sync extra', { ...sync(), tid: '1' }],
    ])('sync: %s', (_, input) => {
      expect(syncRequest(input)).toBe(validateJob('sync', input, accounts).ok);
    });

    it('batch', () => {
      const good = {
        jobs: [
          { type: 'ship', ...vvtool() },
          { type: 'sync', ...sync() },
        ],
      };
      const bad = { jobs: [{ type: 'sync', ...vvtool() }] };
      const tooMany = { jobs: Array.from({ length: 1001 }, () => ({ type: 'sync', ...sync() })) };
      for (const body of [good, bad, tooMany]) expect(batch(body)).toBe(validateBatch(body, accounts).ok);
    });
  });
});

describe('as Fastify route schemas', () => {
  it('compile under Fastify’s own Ajv and under the TypeBox validator compiler', async () => {
    for (const compiler of ['ajv', 'typebox'] as const) {
      const app = Fastify();
      if (compiler === 'typebox') app.setValidatorCompiler(TypeBoxValidatorCompiler);
      const reply = async () => ({ ok: true });
      app.post('/ship', { schema: { body: schemas.shipRequest } }, reply);
      app.post('/sync', { schema: { body: schemas.syncRequest } }, reply);
      app.post('/batch', { schema: { body: schemas.batchRequest } }, reply);
      await app.ready();
      await app.close();
    }
  });

  it('type the request body with the type provider, ids as they arrive', async () => {
    const app = Fastify()
      .withTypeProvider<TypeBoxTypeProvider>()
      .setValidatorCompiler(TypeBoxValidatorCompiler);
    app.post('/batch', { schema: { body: schemas.batchRequest } }, async (request) => {
      expectTypeOf(request.body).toEqualTypeOf<BatchRequestBody>();
      return { jobs: request.body.jobs.length };
    });
    const good = await app.inject({
      method: 'POST',
      url: '/batch',
      payload: { jobs: [{ type: 'sync', ...sync() }] },
    });
    expect(good.json()).toEqual({ jobs: 1 });
    const bad = await app.inject({
      method: 'POST',
      url: '/batch',
      payload: { jobs: [{ type: 'sync', x: 1 }] },
    });
    expect(bad.statusCode).toBe(400);
    await app.close();
  });
});

describe('types follow the job name', () => {
  it('decode ids to strings in validated payloads, and accept numbers on the wire', () => {
    expectTypeOf<VvtoolSend['tid']>().toEqualTypeOf<string>();
    expectTypeOf<VvtoolSend['sub_tid']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<VvtoolSend['is_split']>().toEqualTypeOf<0 | 1 | undefined>();
    expectTypeOf<VvtoolSend['vvtype']>().toEqualTypeOf<1 | 2 | undefined>();
    expectTypeOf<JobData<'damaijia.sync'>>().toEqualTypeOf<
      { account: string } & JobPayloads['damaijia.sync']
    >();
    expectTypeOf<Extract<ShipRequestBody, { tid: unknown }>['tid']>().toEqualTypeOf<string | number>();
  });

  it('fit what the upstream clients send', () => {
    expectTypeOf<JobPayloads['vvtool.send']>().toExtend<VvtoolSendRequest>();
    expectTypeOf<JobPayloads['damaijia.delivery']>().toExtend<DamaijiaDeliveryRequest>();
    expectTypeOf<JobPayloads['damaijia.sync']>().toExtend<DamaijiaSyncRequest>();
  });
});
