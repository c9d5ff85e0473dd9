import * as library from 'fulfillment-worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestRedis, testRedis } from '../helpers/redis.js';

// The package's own name resolves (package.json "exports") to the library a producer imports.
let t: TestRedis;
beforeAll(async () => {
  t = await testRedis('entry');
});
afterAll(async () => {
  await t?.cleanup();
});

describe("import from 'fulfillment-worker'", () => {
  it('gives a producer config, connection, service and typed errors', async () => {
    const env = {
      REDIS_URL: t.url,
      FULFILLMENT_PREFIX: t.prefix,
      FULFILLMENT_ACCOUNTS: JSON.stringify([
        { id: 'shop1', provider: 'vvtool', token: 'tok-entry-0123456789' },
      ]),
    };
    const config = library.loadConfig(env, { accounts: true });
    const redis = library.connectRedis(config, 'entry-test');
    const service = new library.Fulfillment(config, redis);
    try {
      const shipment = {
        account: 'shop1',
        shop_id: '1',
        tid: '4200',
        out_sid: 'YT4200000001',
        company_code: 'YTO',
      };
      const first = await service.producer.ship(shipment);
      expect(first).toMatchObject({ id: library.idempotencyKey('vvtool.send', shipment), duplicate: false });
      await expect(service.producer.ship({ ...shipment, tid: 'x' })).rejects.toBeInstanceOf(
        library.ValidationError,
      );
      expect(Object.keys(library.schemas).length).toBeGreaterThan(0);
      expect(new library.RedisUnavailableError().message).toMatch(/nothing was enqueued/);
    } finally {
      await service.close();
      await redis.quit();
    }
  });
});
