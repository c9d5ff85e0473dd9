import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import ky from 'ky';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WireWatch } from '../../src/limiter/index.js';

// Check-to-wire, on a real request over loopback: from the limiter's last check in an async context
// to the moment undici writes the request's headers, through ky as the upstream clients use it.
let server: Server;
let url: string;
beforeAll(async () => {
  server = createServer((_req, res) => res.end('ok'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('WireWatch', () => {
  it('times a request made in a checked call, from the check to its headers on the socket', async () => {
    const wire = new WireWatch();
    try {
      await wire.timed(performance.now(), () => ky.get(url, { retry: 0 }).text());
      expect(wire.stats().sends).toBe(1);
      expect(wire.stats().connections).toBe(1);
      expect(wire.recentHighMs()).toBeGreaterThan(0);
    } finally {
      wire.close();
    }
  });

  it('times nothing for a request no check came before', async () => {
    const wire = new WireWatch();
    try {
      await ky.get(url, { retry: 0 }).text();
      expect(wire.stats().sends).toBe(0);
      expect(wire.recentHighMs()).toBe(0);
    } finally {
      wire.close();
    }
  });
});
