import { once } from 'node:events';
import { Agent, type ClientRequest, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/index.js';
import { createVvtoolClient, readVvtoolBody, type UpstreamReply } from '../../src/upstreams/index.js';
import { createPost, type PostRequest } from '../../src/upstreams/transport.js';
import { checkedAtWire } from '../../src/upstreams/wire-check.js';
import { type CaptureServer, startCaptureServer } from './capture-server.js';

// The one resend the transport allows itself, and the cases it must not resend. A kept-alive
// connection found closed before anything was written: the request never left, so it goes once
// more on a new connection. Anything that fails after the request was handed to its socket may have
// reached the upstream (and been charged): never sent again, and the reply says sent.
const token = new Secret('tok-keep-alive-7c2f');
const request = { tid: '9', shop_id: 's', out_sid: 'YT9', company_code: 'YTO' };
let server: CaptureServer;
beforeAll(async () => {
  server = await startCaptureServer(() => ({ body: { code: 0, msg: '成功' } }));
});
afterAll(async () => {
  await server.close();
});

/** A pool whose next reused connection is found closed, as when the server closed it while idle. */
class ClosingAgent extends Agent {
  closeNextReused = false;
  /** How many reused connections after that are found closed too (all the pool's idle ones died). */
  alsoClose = 0;
  override reuseSocket(socket: Duplex, req: ClientRequest): void {
    super.reuseSocket(socket, req);
    if (this.closeNextReused) {
      this.closeNextReused = this.alsoClose > 0;
      this.alsoClose = Math.max(0, this.alsoClose - 1);
      socket.destroy();
    }
  }
}

function postVia(
  agent: Agent,
  timeoutMs = 5_000,
): (payload?: PostRequest['payload']) => Promise<UpstreamReply> {
  const post = createPost('vvtool', timeoutMs, readVvtoolBody, { agent });
  return (payload = { kind: 'form', fields: { tid: '9' } }) =>
    post({ url: `${server.baseUrl}/tool/erps/send`, token, authorization: (t) => `Bearer ${t}`, payload });
}

describe('kept-alive connections', () => {
  it('sends once more, on a new connection, when the kept-alive one is found closed before writing', async () => {
    const agent = new ClosingAgent({ keepAlive: true });
    const post = postVia(agent);
    try {
      const requestsBefore = server.requests.length;
      const connectionsBefore = server.connections;
      expect(await post()).toMatchObject({ answered: true, code: 0 });
      agent.closeNextReused = true;
      let asked = 0;
      const reply = await checkedAtWire(
        () => {
          asked += 1;
          return true;
        },
        () => post(),
      );
      expect(reply).toMatchObject({ answered: true, code: 0 });
      // Asked once: at the new connection, where the request was written (the closed one never got that far).
      expect(asked).toBe(1);
      const [first, second] = server.requests.slice(requestsBefore);
      expect(server.requests.length - requestsBefore).toBe(2);
      expect(second!.connection).not.toBe(first!.connection);
      // The first call's connection, the spare made ahead that the resend went on, and the next spare.
      expect(server.connections - connectionsBefore).toBe(3);
    } finally {
      agent.destroy();
    }
  });

  it('drops every idle connection before the resend, so that it goes on a new one when all died', async () => {
    const agent = new ClosingAgent({ keepAlive: true });
    const post = postVia(agent);
    try {
      // Two idle connections in the pool, then both found closed (as after the server restarted).
      await Promise.all([post(), post()]);
      agent.closeNextReused = true;
      agent.alsoClose = 1;
      const connectionsBefore = server.connections;
      expect(await post()).toMatchObject({ answered: true, code: 0 });
      expect(server.connections - connectionsBefore).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it('a new connection that failed at once: not sent, and the wire check never asked', async () => {
    // As when connecting to an address with no route fails synchronously: the socket is destroyed
    // before the request gets it, and its error comes after.
    class FailingAgent extends Agent {
      override createConnection(): Duplex {
        const socket = new Socket();
        socket.destroy();
        const error = Object.assign(new Error('connect EHOSTUNREACH'), { code: 'EHOSTUNREACH' });
        setImmediate(() => socket.emit('error', error));
        return socket;
      }
    }
    const agent = new FailingAgent();
    let asked = 0;
    const reply = await checkedAtWire(
      () => {
        asked += 1;
        return true;
      },
      () => postVia(agent)(),
    );
    expect(reply).toMatchObject({ answered: false, sent: false });
    expect(asked).toBe(0);
  });

  it('a token Node will not put in a header: a failure, not sent, and no rejection', async () => {
    const post = createPost('vvtool', 5_000, readVvtoolBody);
    const reply = await post({
      url: `${server.baseUrl}/tool/erps/send`,
      token: new Secret('tok-with-a-line-break\n'),
      authorization: (t) => `Bearer ${t}`,
      payload: { kind: 'form', fields: { tid: '9' } },
    });
    expect(reply).toMatchObject({ answered: false, sent: false });
    expect(JSON.stringify(reply)).not.toContain('tok-with-a-line-break');
  });

  it('never sends again when the server closes the reused connection after reading the request', async () => {
    const agent = new Agent({ keepAlive: true });
    const post = postVia(agent);
    try {
      const requestsBefore = server.requests.length;
      const connectionsBefore = server.connections;
      expect(await post()).toMatchObject({ answered: true });
      server.respond(() => ({ fault: 'close' }));
      const reply = await post();
      expect(reply).toMatchObject({ answered: false, failure: 'reset', sent: true });
      // Both requests on the one connection: the second was not sent again on a new one (nor on the
      // spare the pool made ahead, the only other connection).
      const [first, second] = server.requests.slice(requestsBefore);
      expect(server.requests.length - requestsBefore).toBe(2);
      expect(second!.connection).toBe(first!.connection);
      expect(server.connections - connectionsBefore).toBe(2);
    } finally {
      server.respond(() => ({ body: { code: 0, msg: '成功' } }));
      agent.destroy();
    }
  });

  it('a TCP reset after the request was written: reset, sent, not sent again', async () => {
    const agent = new Agent({ keepAlive: true });
    const post = postVia(agent);
    try {
      const requestsBefore = server.requests.length;
      expect(await post()).toMatchObject({ answered: true });
      server.respond(() => ({ fault: 'rst' }));
      expect(await post()).toMatchObject({ answered: false, failure: 'reset', sent: true });
      expect(server.requests.length - requestsBefore).toBe(2);
    } finally {
      server.respond(() => ({ body: { code: 0, msg: '成功' } }));
      agent.destroy();
    }
  });

  it('a deadline that passes before the request has a socket: timeout, not sent', async () => {
    // One socket, held by a call the server never answers: the second call waits for a socket.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      server.respond(() => ({ fault: 'stall' }));
      const requestsBefore = server.requests.length;
      const holding = postVia(agent, 1_000)();
      await until(() => server.requests.length > requestsBefore);
      const waiting = await postVia(agent, 100)();
      expect(waiting).toMatchObject({ answered: false, failure: 'timeout', sent: false });
      expect(await holding).toMatchObject({ answered: false, failure: 'timeout', sent: true });
      expect(server.requests.length - requestsBefore).toBe(1);
    } finally {
      server.respond(() => ({ body: { code: 0, msg: '成功' } }));
      agent.destroy();
    }
  });

  it('calls in flight at once each get a connection of their own (no cap that queues them)', async () => {
    const own = await startCaptureServer(() => ({ body: { code: 0 } }));
    try {
      const client = createVvtoolClient({ baseUrl: own.baseUrl, timeoutMs: 5_000 });
      const replies = await Promise.all(Array.from({ length: 30 }, () => client.send(token, request)));
      expect(replies.every((reply) => reply.answered)).toBe(true);
      expect(new Set(own.requests.map((r) => r.connection)).size).toBe(30);
      // And the one spare the pool keeps made ahead.
      expect(own.connections).toBe(31);
    } finally {
      await own.close();
    }
  });
});

describe('the spare connection made ahead', () => {
  it("is not handed to a request once the server wrote to it or closed it: that answer is no one's", async () => {
    // The server answers every request and closes its connection (so the next call needs a new one),
    // and on the second connection, the spare, writes a 408 and closes at once, as servers do with
    // connections that stay idle.
    let accepted = 0;
    const served: number[] = [];
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        served.push((request.socket as unknown as { id: number }).id);
        response.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
        response.end(JSON.stringify({ code: 0, msg: '成功' }));
      });
    });
    server.on('connection', (socket) => {
      accepted += 1;
      Object.assign(socket, { id: accepted });
      if (accepted === 2)
        socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    class RecordingAgent extends Agent {
      readonly made: Duplex[] = [];
      override createConnection(...args: Parameters<Agent['createConnection']>): Duplex {
        const socket = super.createConnection(...args) as Duplex;
        this.made.push(socket);
        return socket;
      }
    }
    const agent = new RecordingAgent({ keepAlive: true });
    const post = createPost('vvtool', 5_000, readVvtoolBody, { agent });
    const send = () =>
      post({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/tool/erps/send`,
        token,
        authorization: (t) => `Bearer ${t}`,
        payload: { kind: 'form', fields: { tid: '9' } },
      });
    try {
      expect(await send()).toMatchObject({ answered: true, httpStatus: 200, code: 0 });
      // The spare (the second connection made) has the server's 408 waiting, unread.
      await until(() => (agent.made[1]?.readableLength ?? 0) > 0 || agent.made[1]?.readableEnded === true);
      expect(await send()).toMatchObject({ answered: true, httpStatus: 200, code: 0 });
      expect(served).toEqual([1, 3]);
    } finally {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('preconnect opens it before the first call (once, sending nothing), and the first call goes on it', async () => {
    const own = await startCaptureServer(() => ({ body: { code: 0, msg: '成功' } }));
    const agent = new Agent({ keepAlive: true });
    const post = createPost('vvtool', 5_000, readVvtoolBody, { agent });
    const url = `${own.baseUrl}/tool/erps/send`;
    try {
      post.preconnect(url);
      post.preconnect(url);
      await until(() => own.connections >= 1);
      expect(
        await post({
          url,
          token,
          authorization: (t) => `Bearer ${t}`,
          payload: { kind: 'form', fields: { tid: '9' } },
        }),
      ).toMatchObject({ answered: true, code: 0 });
      expect(own.requests.map((r) => r.connection)).toEqual([1]);
      // The one made ahead, carrying the call, and the next spare behind it.
      expect(own.connections).toBe(2);
    } finally {
      agent.destroy();
      await own.close();
    }
  });

  it('is made once per agent, however many pools share it', async () => {
    const agent = new Agent({ keepAlive: true });
    const connectionsBefore = server.connections;
    try {
      const first = postVia(agent);
      postVia(agent);
      postVia(agent);
      expect(await first()).toMatchObject({ answered: true });
      // The request's own connection and one spare, all connected before the request was answered
      // (three wrappings would make four).
      expect(server.connections - connectionsBefore).toBe(2);
    } finally {
      agent.destroy();
    }
  });
});

/** Polls `done` every few ms, for at most 2 s. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  if (!done()) throw new Error('condition not met within 2 s');
}
