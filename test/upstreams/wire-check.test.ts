import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/index.js';
import { createVvtoolClient } from '../../src/upstreams/index.js';
import { checkedAtWire } from '../../src/upstreams/wire-check.js';
import { type CaptureServer, startCaptureServer } from './capture-server.js';

// The last check of a rate-limited call, where its request meets a connected socket: a no there
// sends nothing (the upstream sees no request, so nothing can have been charged), and the reply
// says so; a yes sends the request as usual.
const token = new Secret('tok-wire-check-1d2e');
const request = { tid: '42', shop_id: 's', out_sid: 'YT42', company_code: 'YTO' };
let server: CaptureServer;
beforeAll(async () => {
  server = await startCaptureServer(() => ({ body: { code: 0, status: 0 } }));
});
afterAll(async () => {
  await server.close();
});

describe('the wire check', () => {
  it('holds back a request its check refuses: nothing reaches the upstream, and the reply says not sent', async () => {
    const client = createVvtoolClient({ baseUrl: server.baseUrl, timeoutMs: 5_000 });
    let asked = 0;
    const reply = await checkedAtWire(
      () => {
        asked += 1;
        return false;
      },
      () => client.send(token, request),
    );
    expect(asked).toBe(1);
    expect(reply).toMatchObject({ answered: false, failure: 'late', sent: false });
    expect(server.requests).toHaveLength(0);
  });

  it('sends a request its check allows, once, on a socket already connected', async () => {
    const client = createVvtoolClient({ baseUrl: server.baseUrl, timeoutMs: 5_000 });
    let asked = 0;
    const reply = await checkedAtWire(
      () => {
        asked += 1;
        return true;
      },
      () => client.send(token, request),
    );
    expect(asked).toBe(1);
    expect(reply).toMatchObject({ answered: true, code: 0 });
    expect(server.requests).toHaveLength(1);
  });

  it('asks nothing of a request made outside a checked call', async () => {
    const client = createVvtoolClient({ baseUrl: server.baseUrl, timeoutMs: 5_000 });
    expect(await client.send(token, request)).toMatchObject({ answered: true });
  });
});
