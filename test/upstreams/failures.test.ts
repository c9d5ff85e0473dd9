import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/index.js';
import { classify } from '../../src/outcomes/index.js';
import {
  createDamaijiaClient,
  createVvtoolClient,
  type UnansweredReply,
  type UpstreamReply,
} from '../../src/upstreams/index.js';
import { type CaptureServer, closedPort, startCaptureServer } from './capture-server.js';

const TOKEN = 'tok-failures-0d7e61f2b8';
const SHIP = { tid: '1', shop_id: 's', out_sid: 'YT1234567', company_code: 'YTO' };
const DELIVERY = { seller_nick: 'n', order_no: 'o1', wp_code: 'YTO', waybill_no: 'YT1234567' };
let server: CaptureServer;

beforeAll(async () => {
  server = await startCaptureServer();
});
afterAll(async () => {
  await server.close();
});

function unanswered(reply: UpstreamReply): UnansweredReply {
  if (reply.answered) throw new Error(`expected no answer, got HTTP ${reply.httpStatus}`);
  return reply;
}

/** Neither the reply nor anything reachable from it, however it is printed, holds the token. */
function expectNoToken(value: unknown): void {
  expect(JSON.stringify(value)).not.toContain(TOKEN);
  expect(inspect(value, { depth: 10, showHidden: true })).not.toContain(TOKEN);
}

describe('transport failures come back as unanswered replies, never as throws', () => {
  it('timeout: a server that never answers gives timeout, sent=true, and is retried', async () => {
    server.respond(() => ({ fault: 'stall' }));
    const client = createVvtoolClient({ baseUrl: server.baseUrl, timeoutMs: 200 });
    const reply = unanswered(await client.send(new Secret(TOKEN), SHIP));
    expect(reply).toMatchObject({ provider: 'vvtool', failure: 'timeout', sent: true });
    expect(reply.message).toBe('no answer within 200 ms');
    expect(classify('vvtool', reply)).toMatchObject({ outcome: 'retry', code: null, message: reply.message });
    expectNoToken(reply);
  });

  it('timeout: a body that stops half way gives timeout, sent=true', async () => {
    server.respond(() => ({ fault: 'stall-body' }));
    const client = createDamaijiaClient({ baseUrl: server.baseUrl, timeoutMs: 200 });
    const reply = unanswered(await client.delivery(new Secret(TOKEN), DELIVERY));
    expect(reply).toMatchObject({ provider: 'damaijia', failure: 'timeout', sent: true });
    expectNoToken(reply);
  });

  it('refused: a closed port gives refused, sent=false, and is retried', async () => {
    const client = createVvtoolClient({
      baseUrl: `http://127.0.0.1:${await closedPort()}`,
      timeoutMs: 2_000,
    });
    const reply = unanswered(await client.send(new Secret(TOKEN), SHIP));
    expect(reply).toMatchObject({ failure: 'refused', sent: false });
    expect(reply.message).toContain('ECONNREFUSED');
    expect(classify('vvtool', reply).outcome).toBe('retry');
    expectNoToken(reply);
  });

  it('refused: a host name that does not resolve gives refused, sent=false', async () => {
    // .invalid never resolves (RFC 6761), so this needs no network.
    const client = createDamaijiaClient({ baseUrl: 'http://no-such-host.invalid', timeoutMs: 5_000 });
    const reply = unanswered(await client.sync(new Secret(TOKEN), { orderSns: '1', ownerId: '2' }));
    expect(reply).toMatchObject({ failure: 'refused', sent: false });
    expectNoToken(reply);
  });

  it('reset: the server closing the socket without an answer gives reset, sent=true', async () => {
    server.respond(() => ({ fault: 'close' }));
    const client = createVvtoolClient({ baseUrl: server.baseUrl, timeoutMs: 5_000 });
    const reply = unanswered(await client.send(new Secret(TOKEN), SHIP));
    expect(reply).toMatchObject({ failure: 'reset', sent: true });
    expect(classify('vvtool', reply).outcome).toBe('retry');
    expectNoToken(reply);
  });

  it('reset: a TCP reset (ECONNRESET) gives reset, sent=true', async () => {
    server.respond(() => ({ fault: 'rst' }));
    const client = createDamaijiaClient({ baseUrl: server.baseUrl, timeoutMs: 5_000 });
    const reply = unanswered(await client.delivery(new Secret(TOKEN), DELIVERY));
    expect(reply).toMatchObject({ failure: 'reset', sent: true });
    expectNoToken(reply);
  });

  it('answers normally again after a failure on the same client', async () => {
    const client = createVvtoolClient({ baseUrl: server.baseUrl, timeoutMs: 5_000 });
    server.respond(() => ({ fault: 'close' }));
    expect((await client.send(new Secret(TOKEN), SHIP)).answered).toBe(false);
    server.respond(() => ({ body: { code: 0, msg: '成功' } }));
    expect(await client.send(new Secret(TOKEN), SHIP)).toMatchObject({ answered: true, code: 0 });
  });
});

describe('connections', () => {
  // node:http hands a socket back to its pool a tick after the body ends; calls in a worker are
  // further apart than that (Redis round trips in between).
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it('reuses one keep-alive connection for sequential calls', async () => {
    const own = await startCaptureServer(() => ({ body: { status: 0, data: { amount: 1 } } }));
    try {
      const client = createDamaijiaClient({ baseUrl: own.baseUrl, timeoutMs: 5_000 });
      for (let i = 0; i < 5; i++) {
        expect(await client.sync(new Secret(TOKEN), { orderSns: String(i), ownerId: 'w' })).toMatchObject({
          answered: true,
          code: 0,
        });
        await turn();
      }
      expect(own.requests).toHaveLength(5);
      // All five on the first connection; the second is the one the pool made ahead (a spare), unused.
      expect(own.connections).toBe(2);
      expect(new Set(own.requests.map((r) => r.connection))).toEqual(new Set([1]));
    } finally {
      await own.close();
    }
  });

  it('keeps reusing connections for back-to-back calls (at most two for ten calls)', async () => {
    const own = await startCaptureServer(() => ({ body: { code: 0, msg: '成功' } }));
    try {
      const client = createVvtoolClient({ baseUrl: own.baseUrl, timeoutMs: 5_000 });
      for (let i = 0; i < 10; i++) {
        expect((await client.send(new Secret(TOKEN), SHIP)).answered).toBe(true);
      }
      expect(own.requests).toHaveLength(10);
      expect(own.connections).toBeLessThanOrEqual(2);
    } finally {
      await own.close();
    }
  });
});
