import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FulfillmentClient, FulfillmentError } from '../../src/client/index.js';

/**
 * What the client makes of answers the service gives rarely (503 while Redis is away, a problem
 * document, a body that is not JSON, no answer): a loopback server that answers as each case says.
 */
const KEY = 'producer-key-SECRET-errors-01';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let baseUrl: string;
let answer: (res: ServerResponse) => void = (res) => res.end();
const seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function reply(status: number, body: string, headers: Record<string, string> = {}) {
  answer = (res) => res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body);
}

const client = () => new FulfillmentClient({ baseUrl, apiKey: KEY, timeoutMs: 2_000 });
const shipment = { account: 'shop-a', tid: '1', shop_id: '88', out_sid: 'YT0000000001', company_code: 'YTO' };

async function refusal(call: Promise<unknown>): Promise<FulfillmentError> {
  const err = await call.catch((caught: unknown) => caught);
  expect(err).toBeInstanceOf(FulfillmentError);
  expect(String(err) + JSON.stringify(err)).not.toContain(KEY);
  return err as FulfillmentError;
}

describe('FulfillmentClient on the wire', () => {
  it('sends the key as a bearer, the body as JSON, and the id as one path segment', async () => {
    reply(202, JSON.stringify({ id: 'x', state: 'waiting', duplicate: false }));
    await client().ship(shipment);
    reply(404, JSON.stringify({ error: 'not found', issues: [] }));
    expect(await client().getJob('a/b?c')).toBeNull();
    const [ship, get] = seen.slice(-2);
    expect(ship).toMatchObject({ method: 'POST', url: '/v1/ship', body: JSON.stringify(shipment) });
    expect(ship?.headers).toMatchObject({
      authorization: `Bearer ${KEY}`,
      'content-type': 'application/json',
    });
    expect(get).toMatchObject({ method: 'GET', url: '/v1/jobs/a%2Fb%3Fc' });
  });

  it('a 503 is unavailable, with Retry-After in seconds', async () => {
    reply(503, JSON.stringify({ error: 'redis unavailable', issues: [] }), { 'retry-after': '5' });
    const err = await refusal(client().ship(shipment));
    expect(err).toMatchObject({ kind: 'unavailable', status: 503, retryAfterSeconds: 5 });
  });

  it('reads a problem document that keeps error and issues as members', async () => {
    const problem = {
      type: 'https://example.test/problems/invalid-request',
      title: 'invalid request',
      status: 400,
      detail: 'tid must be a digit string',
      error: 'invalid request',
      issues: [{ path: 'jobs.0.tid', message: 'must be a digit string' }],
    };
    reply(400, JSON.stringify(problem), { 'content-type': 'application/problem+json' });
    const err = await refusal(client().batch([{ type: 'ship', ...shipment }]));
    expect(err).toMatchObject({
      kind: 'invalid',
      status: 400,
      issues: problem.issues,
      retryAfterSeconds: null,
    });
    expect(err.message).toBe('POST /v1/batch: 400 invalid request (jobs.0.tid must be a digit string)');
  });

  it('an answer that is not the API’s is unexpected', async () => {
    reply(200, '<html>proxy</html>', { 'content-type': 'text/html' });
    expect(await refusal(client().sync({ account: 'dm', orderSns: '1', ownerId: '2' }))).toMatchObject({
      kind: 'unexpected',
      status: 200,
    });
    reply(502, 'bad gateway', { 'content-type': 'text/plain' });
    expect(await refusal(client().getJob('x'))).toMatchObject({
      kind: 'unexpected',
      status: 502,
      issues: [],
    });
  });

  it('no answer within timeoutMs is unreachable', async () => {
    answer = () => {}; // never answers; afterAll closes the connection
    const slow = new FulfillmentClient({ baseUrl, apiKey: KEY, timeoutMs: 100 });
    expect(await refusal(slow.getJob('x'))).toMatchObject({ kind: 'unreachable', status: null });
  });

  it('refuses a base URL that is not http(s), and an empty key', () => {
    expect(() => new FulfillmentClient({ baseUrl: 'redis://127.0.0.1:6379', apiKey: KEY })).toThrow(
      TypeError,
    );
    expect(() => new FulfillmentClient({ baseUrl, apiKey: '' })).toThrow(/apiKey/);
  });
});
