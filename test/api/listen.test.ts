import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_USER, AUTH, type Harness, SECRETS, shipBody, startHarness } from './harness.js';

/** The same checks as the inject suites, through a real socket: what a client in any language sees. */
let h: Harness;
let base: string;
const answers: string[] = [];

beforeAll(async () => {
  h = await startHarness('api-listen');
  base = await h.app.listen({ port: 0, host: '127.0.0.1' });
  await h.service.ledger.settle(
    {
      account: 'vv1',
      provider: 'vvtool',
      operation: 'vvtool.send',
      shop: 's',
      order: '1',
      jobId: 'j',
      attempt: 1,
    },
    { amount: 3 },
    Date.UTC(2024, 0, 1),
  );
});

afterAll(async () => {
  const text = [...answers, ...h.logs].join('\n');
  for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
  await h.close();
});

async function call(
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(`${base}${path}`, init);
  const text = await response.text();
  answers.push(`${response.status} ${JSON.stringify([...response.headers])} ${text}`);
  return { status: response.status, headers: response.headers, text };
}

/** A raw request with a streamed body, for sizes and framings fetch does not let us choose. */
function raw(
  path: string,
  headers: Record<string, string>,
  chunks: Buffer[],
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, base);
    const req = httpRequest(url, { method: 'POST', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString();
        answers.push(`${res.statusCode} ${JSON.stringify(res.headers)} ${text}`);
        resolve({ status: res.statusCode ?? 0, text });
      });
    });
    // The server may answer 413 and stop reading before the whole body is written.
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err);
    });
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe('a listening server on 127.0.0.1', () => {
  it('enqueues over HTTP', async () => {
    const response = await call('/v1/ship', {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify(shipBody()),
    });
    expect(response.status).toBe(202);
    expect(JSON.parse(response.text)).toMatchObject({ state: 'waiting', duplicate: false });
  });

  it('401 without a key', async () => {
    const response = await call('/v1/accounts');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('413 in the error shape for a body over 1 MiB, with a content-length', async () => {
    const body = Buffer.from(JSON.stringify(shipBody({ feature: 'x'.repeat(1_200_000) })));
    const response = await raw(
      '/v1/ship',
      { ...AUTH, 'content-type': 'application/json', 'content-length': String(body.length) },
      [body],
    );
    expect(response.status).toBe(413);
    expect(JSON.parse(response.text)).toMatchObject({
      error: 'request body too large',
      issues: [{ path: 'body' }],
    });
  });

  it('413 for a chunked body that grows past 1 MiB', async () => {
    const chunks = Array.from({ length: 20 }, () => Buffer.alloc(64 * 1024, 0x20));
    const response = await raw(
      '/v1/batch',
      { ...AUTH, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      [Buffer.from('{"jobs":'), ...chunks, Buffer.from('[]}')],
    );
    expect(response.status).toBe(413);
    expect(JSON.parse(response.text).issues[0].path).toBe('body');
  });

  it('takes a body just under the limit (whitespace around a small job)', async () => {
    const padding = ' '.repeat(1024 * 1024 - 400);
    const response = await raw('/v1/ship', { ...AUTH, 'content-type': 'application/json' }, [
      Buffer.from(`${padding}${JSON.stringify(shipBody({ tid: '42' }))}`),
    ]);
    expect(response.status).toBe(202);
  });

  it('400 naming body for malformed JSON', async () => {
    const response = await call('/v1/batch', {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json; charset=utf-8' },
      body: '{"jobs": [',
    });
    expect(response.status).toBe(400);
    expect(JSON.parse(response.text).issues[0].path).toBe('body');
  });

  it('streams the ledger as CSV', async () => {
    const response = await call('/v1/ledger/entries?format=csv', { headers: AUTH });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.text.split('\r\n').filter(Boolean)).toHaveLength(2);
  });

  it('serves probes, metrics, the OpenAPI document and its page', async () => {
    expect((await call('/healthz')).status).toBe(200);
    expect((await call('/readyz')).status).toBe(200);
    expect((await call('/metrics')).text).toMatch(/fulfillment_redis_up 1/);
    expect(JSON.parse((await call('/openapi.json')).text).openapi).toMatch(/^3\./);
    expect((await call('/docs')).text).toContain('<div id="swagger-ui">');
  });

  it('serves Bull Board with basic auth only', async () => {
    expect((await call('/admin/queues')).status).toBe(401);
    const authorization = `Basic ${Buffer.from(`${ADMIN_USER}:${SECRETS.adminPassword}`).toString('base64')}`;
    const page = await call('/admin/queues', { headers: { authorization } });
    expect(page.status).toBe(200);
    expect(page.text).toContain('<base href="/admin/queues/"');
  });

  it('404 in the error shape for an unknown route', async () => {
    const response = await call('/v2/ship', { method: 'POST' });
    expect(response.status).toBe(404);
    expect(JSON.parse(response.text)).toMatchObject({ error: 'not found', issues: [{ path: 'url' }] });
  });
});
