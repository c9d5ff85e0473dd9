import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_KEY_LENGTH } from '../../src/jobs/index.js';
import { AUTH, type Harness, makeDead, SECRETS, startHarness } from './harness.js';

/**
 * Job ids are idempotency keys, and the longest are far past the router's default 100 characters:
 * a split shipment of 100 sub-orders on a 64-character account, or an order number in Chinese,
 * escaped into the key and escaped again in the URL. Every one must reach its route.
 */
const VV = `vv_${'a'.repeat(61)}`;
const DM = `dm-${'b'.repeat(61)}`;
let h: Harness;

beforeAll(async () => {
  h = await startHarness('api-long-ids', {
    FULFILLMENT_ACCOUNTS: JSON.stringify([
      { id: VV, provider: 'vvtool', token: SECRETS.vvToken },
      { id: DM, provider: 'damaijia', token: SECRETS.dmToken },
    ]),
  });
});

afterAll(async () => {
  expect(h.leakedSecrets()).toEqual([]);
  await h.close();
});

/** The longest vv-tool shipment the rules allow: 100 sub-orders of 20 digits each. */
const longestSplit = () => ({
  account: VV,
  tid: '9'.repeat(20),
  shop_id: 'shop',
  out_sid: 'Y'.repeat(40),
  company_code: 'YTO',
  sub_tid: Array.from({ length: 100 }, (_, i) => `${10n ** 19n + BigInt(i)}`).join(','),
  is_split: 1,
});

/** The longest damaijia key: 256 characters of a Chinese order number, each escaped as %XX%XX%XX. */
const chineseOrder = (char: string) => ({
  account: DM,
  seller_nick: '小店',
  order_no: char.repeat(256),
  wp_code: 'ZTO',
  waybill_no: 'Z'.repeat(40),
});

const url = (route: string, id: string) => `/v1/${route}/${encodeURIComponent(id)}`;

describe('the longest ids', () => {
  it('GET /v1/jobs/:id finds the longest split shipment', async () => {
    const { id } = await h.service.producer.ship(longestSplit());
    expect(id.length).toBeGreaterThan(2000);
    const response = await h.inject({ url: url('jobs', id), headers: AUTH });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id, queue: 'ship', state: 'waiting' });
  });

  it('GET /v1/jobs/:id finds a Chinese order number, escaped in the key and in the URL', async () => {
    const { id } = await h.service.producer.ship(chineseOrder('订'));
    expect(id).toBe(`damaijia.${DM}.${'%E8%AE%A2'.repeat(256)}.${'Z'.repeat(40)}`);
    const response = await h.inject({ url: url('jobs', id), headers: AUTH });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id, queue: 'ship' });
  });

  it('DELETE /v1/dead-letter/:id purges the longest key the rules allow', async () => {
    // 4-byte characters: 12 key characters each, the longest escape there is.
    const id = await makeDead(h.service, chineseOrder('😀'));
    expect(id.length).toBe(MAX_KEY_LENGTH);
    const first = await h.inject({ method: 'DELETE', url: url('dead-letter', id), headers: AUTH });
    expect(first.statusCode).toBe(204);
    const second = await h.inject({ method: 'DELETE', url: url('dead-letter', id), headers: AUTH });
    expect(second.statusCode).toBe(404);
    expect(second.json()).toMatchObject({ issues: [{ path: 'id', message: 'no dead job with this id' }] });
  });

  it('answers 404 "no job with this id" (the route, not "no route") for an unknown long id', async () => {
    const response = await h.inject({
      url: url('jobs', `vvtool.${VV}.1.${'1,'.repeat(500)}1.YT1`),
      headers: AUTH,
    });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ issues: [{ path: 'id', message: 'no job with this id' }] });
  });
});
