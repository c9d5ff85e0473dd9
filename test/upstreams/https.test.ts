import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Agent, createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/index.js';
import { readVvtoolBody, type UpstreamReply } from '../../src/upstreams/index.js';
import { createPost } from '../../src/upstreams/transport.js';
import { checkedAtWire, timedAtWire, type WireObserver } from '../../src/upstreams/wire-check.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { until } from '../helpers/wait.js';

// The real upstreams are HTTPS: the transport over TLS, on loopback with a self-signed certificate
// (test/fixtures/tls). A new connection is ready for the request once its handshake is done; only
// then is the wire check asked (a handshake that fails never asks it), and a refused check sends nothing. Kept-alive TLS connections are
// reused, and a token never shows in what comes back.
const tls = new URL('../fixtures/tls/', import.meta.url);
const cert = readFileSync(new URL('cert.pem', tls));
const key = readFileSync(new URL('key.pem', tls));
const token = new Secret('tok-https-51d9');

let server: Server;
let baseUrl: string;
/** Requests that arrived whole, with their Authorization header and the connection (1 = the first). */
const arrived: { path: string; authorization: string | undefined; body: string; connection: number }[] = [];
/** TCP connections accepted, and TLS handshakes the server saw complete. */
let connections = 0;
let handshakes = 0;
const connectionOf = new WeakMap<object, number>();

beforeAll(async () => {
  server = createServer({ cert, key }, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      arrived.push({
        path: request.url ?? '',
        authorization: request.headers.authorization,
        body: Buffer.concat(chunks).toString(),
        connection: connectionOf.get(request.socket) ?? 0,
      });
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ code: 0, msg: '成功', data: [{ tid: '9', withholding_money: 1 }] }));
    });
  });
  server.on('connection', () => {
    connections += 1;
  });
  server.on('secureConnection', (socket) => {
    handshakes += 1;
    connectionOf.set(socket, connections);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  baseUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A post over a keep-alive TLS pool that trusts the test certificate. */
function postVia(agent: Agent, url = baseUrl): () => Promise<UpstreamReply> {
  const post = createPost('vvtool', 5_000, readVvtoolBody, { agent });
  return () =>
    post({
      url: `${url}/tool/erps/send`,
      token,
      authorization: (t) => `Bearer ${t}`,
      payload: { kind: 'form', fields: { tid: '9', out_sid: 'YT9' } },
    });
}

/** Counts what the transport reports for the calls it times. */
function counter(): WireObserver & { connections: number; writes: number } {
  return {
    connections: 0,
    writes: 0,
    connected() {
      this.connections += 1;
    },
    written() {
      this.writes += 1;
    },
  };
}

describe('the transport over HTTPS', () => {
  it('sends after the handshake, reuses the kept-alive TLS connection, and keeps the token out of the reply', async () => {
    const agent = new Agent({ keepAlive: true, ca: cert });
    const post = postVia(agent);
    try {
      const before = { arrived: arrived.length, connections };
      const observer = counter();
      let asked = 0;
      const send = () =>
        timedAtWire(observer, performance.now(), () =>
          checkedAtWire(() => {
            asked += 1;
            return true;
          }, post),
        );
      const first = await send();
      const second = await send();
      for (const reply of [first, second]) {
        expect(reply).toMatchObject({ answered: true, httpStatus: 200, code: 0, charge: 1 });
        expect(JSON.stringify(reply)).not.toContain(token.reveal());
      }
      expect(arrived.slice(before.arrived)).toHaveLength(2);
      for (const request of arrived.slice(before.arrived)) {
        expect(request).toMatchObject({ path: '/tool/erps/send', authorization: `Bearer ${token.reveal()}` });
        expect(request.body).toContain('YT9');
      }
      // One connection for both calls: the second went on the kept-alive one (the other connection
      // is the spare the pool made ahead, unused).
      const [one, two] = arrived.slice(before.arrived);
      expect(two!.connection).toBe(one!.connection);
      expect(connections - before.connections).toBe(2);
      expect(observer).toMatchObject({ connections: 1, writes: 2 });
      expect(asked).toBe(2);
    } finally {
      agent.destroy();
    }
  });

  it('sends nothing when the wire check says no after the handshake: failure late, not sent', async () => {
    const agent = new Agent({ keepAlive: true, ca: cert });
    const post = postVia(agent);
    try {
      const before = { arrived: arrived.length, connections };
      let asked = 0;
      const reply = await checkedAtWire(() => {
        asked += 1;
        return false;
      }, post);
      expect(reply).toMatchObject({ answered: false, failure: 'late', sent: false });
      expect(asked).toBe(1);
      // The connection was made (and a spare ahead of the next call), and no request came over it.
      expect(connections - before.connections).toBe(2);
      expect(arrived.length).toBe(before.arrived);
    } finally {
      agent.destroy();
    }
  });

  it('answers a certificate it cannot trust as a failure, not sent, with the check never asked (it comes after the handshake)', async () => {
    const agent = new Agent({ keepAlive: true });
    const before = arrived.length;
    let asked = 0;
    try {
      const reply = await checkedAtWire(() => {
        asked += 1;
        return true;
      }, postVia(agent));
      expect(reply).toMatchObject({ answered: false, sent: false });
      expect(JSON.stringify(reply)).not.toContain(token.reveal());
      expect(asked).toBe(0);
      expect(arrived.length).toBe(before);
    } finally {
      agent.destroy();
    }
  });

  it('an upstream further away than a slot allows for a handshake: the next call goes on a connection made ahead', async () => {
    // 15 ms each way: a TLS handshake takes two round trips here (TCP to the proxy is instant), far
    // more than the 10 ms its check allows after the check. The first call's new connection comes
    // too late and it is held back; the connection made ahead of the next call is ready for it.
    const far = await startTcpProxy((server.address() as AddressInfo).port, '127.0.0.1', 15);
    const agent = new Agent({ keepAlive: true, ca: cert });
    const post = postVia(agent, `https://127.0.0.1:${far.port}`);
    try {
      const before = { arrived: arrived.length, handshakes };
      const send = () => {
        const checkedAt = performance.now();
        return checkedAtWire(() => performance.now() - checkedAt <= 10, post);
      };
      expect(await send()).toMatchObject({ answered: false, failure: 'late', sent: false });
      // Slots are ~100 ms apart: by the next one, the connection made ahead has its handshake done
      // (the server has seen one complete: the held-back call's own never finished there).
      await until('a handshake done ahead', () => handshakes > before.handshakes || undefined);
      for (let i = 0; i < 3; i++) expect(await send()).toMatchObject({ answered: true, code: 0 });
      expect(arrived.length - before.arrived).toBe(3);
    } finally {
      agent.destroy();
      await far.close();
    }
  });

  it('preconnect: the first call to a far upstream finds its connection ready, and nothing is sent ahead', async () => {
    const far = await startTcpProxy((server.address() as AddressInfo).port, '127.0.0.1', 15);
    const agent = new Agent({ keepAlive: true, ca: cert });
    const url = `https://127.0.0.1:${far.port}/tool/erps/send`;
    const post = createPost('vvtool', 5_000, readVvtoolBody, { agent });
    try {
      const before = { arrived: arrived.length, handshakes, connections };
      post.preconnect(url);
      post.preconnect(url);
      await until('the handshake done ahead', () => handshakes > before.handshakes || undefined);
      // One connection for both asks, and no request over it.
      expect(connections - before.connections).toBe(1);
      expect(arrived.length).toBe(before.arrived);
      const checkedAt = performance.now();
      const reply = await checkedAtWire(
        () => performance.now() - checkedAt <= 10,
        () =>
          post({
            url,
            token,
            authorization: (t) => `Bearer ${t}`,
            payload: { kind: 'form', fields: { tid: '9' } },
          }),
      );
      expect(reply).toMatchObject({ answered: true, code: 0 });
      expect(arrived.slice(before.arrived).map((request) => request.connection)).toEqual([
        before.connections + 1,
      ]);
    } finally {
      agent.destroy();
      await far.close();
    }
  });
});
