import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /**
   * What this receiver answered: a status, 'hang' (no answer until the client gives up) or 'drop'
   * (the connection closed at once, no answer).
   */
  readonly answer: number | 'hang' | 'drop';
  /** The client's port: requests on one kept-alive connection share it. */
  readonly socket: number;
  /** Requests this receiver was holding without an answer when this one arrived. */
  readonly hangingAtArrival: number;
}

export type Answer = (request: {
  readonly id: string;
  readonly body: string;
  readonly socket: number;
}) => number | 'hang' | 'drop';

export interface Receiver {
  readonly url: string;
  /** Every request so far, in arrival order. */
  readonly received: Received[];
  /** How to answer from now on (default: 204 to everything). */
  answer(rule: Answer): void;
  /** Where a 3xx answer points (default: a closed port). */
  redirectTo(url: string): void;
  /** The requests whose answer was a 2xx, by webhook-id. */
  delivered(): Map<string, Received>;
  close(): Promise<void>;
}

/** A webhook receiver on 127.0.0.1 that records what it gets and answers as told. */
export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const hanging = new Set<ServerResponse>();
  let rule: Answer = () => 204;
  let location = 'http://127.0.0.1:9/elsewhere';
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(request.headers['webhook-id'] ?? '');
      const socket = request.socket.remotePort ?? 0;
      const answer = rule({ id, body, socket });
      received.push({ headers: request.headers, body, answer, socket, hangingAtArrival: hanging.size });
      if (answer === 'drop') {
        request.socket.destroy();
        return;
      }
      if (answer === 'hang') {
        hanging.add(response);
        response.on('close', () => hanging.delete(response));
        return;
      }
      response.statusCode = answer;
      if (answer >= 300 && answer < 400) response.setHeader('location', location);
      response.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/fulfillment`,
    received,
    answer(next) {
      rule = next;
    },
    redirectTo(url) {
      location = url;
    },
    delivered() {
      const map = new Map<string, Received>();
      for (const item of received) {
        if (typeof item.answer === 'number' && item.answer >= 200 && item.answer < 300) {
          map.set(String(item.headers['webhook-id']), item);
        }
      }
      return map;
    },
    async close() {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
