import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/index.js';
import { WireWatch } from '../../src/limiter/index.js';
import { createVvtoolClient } from '../../src/upstreams/index.js';

// Check-to-wire, on a real request over loopback: from the limiter's last check to the moment the
// upstream client hands the request to its socket, through the client the processor uses.
let server: Server;
let baseUrl: string;
const token = new Secret('tok-wire-watch-5e1a');
const request = { tid: '1', shop_id: 's', out_sid: 'YT1', company_code: 'YTO' };
beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('{"code":0}'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('WireWatch', () => {
  it('times a request made in a checked call, from the check to its write on the socket', async () => {
    const wire = new WireWatch();
    const client = createVvtoolClient({ baseUrl, timeoutMs: 5_000 });
    expect(await wire.timed(performance.now(), () => client.send(token, request))).toMatchObject({
      answered: true,
    });
    expect(wire.stats()).toEqual({ sends: 1, connections: 1 });
    expect(wire.recentHighMs()).toBeGreaterThan(0);
    // The next call goes on the kept-alive connection: timed, no new connection.
    await wire.timed(performance.now(), () => client.send(token, request));
    expect(wire.stats()).toEqual({ sends: 2, connections: 1 });
  });

  it('times nothing for a request no check came before', async () => {
    const wire = new WireWatch();
    const client = createVvtoolClient({ baseUrl, timeoutMs: 5_000 });
    await client.send(token, request);
    expect(wire.stats().sends).toBe(0);
    expect(wire.recentHighMs()).toBe(0);
  });

  it('times only the request started in its call, not one started after it returned', async () => {
    const wire = new WireWatch();
    const client = createVvtoolClient({ baseUrl, timeoutMs: 5_000 });
    let later: Promise<unknown> | undefined;
    await wire.timed(performance.now(), async () => {
      const reply = await client.send(token, request);
      // Started after an await: outside the call's synchronous scope, so not this call's request.
      later = client.send(token, request);
      return reply;
    });
    await later;
    expect(wire.stats().sends).toBe(1);
  });
});
