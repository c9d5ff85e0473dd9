import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, type Harness, shipBody, startHarness } from './harness.js';

/** Whatever a client sends, the answer is never a 5xx, and every 4xx has the error shape. */
let h: Harness;

beforeAll(async () => {
  h = await startHarness('api-fuzz');
});

afterAll(async () => {
  expect(h.leakedSecrets()).toEqual([]);
  await h.close();
});

function expectClientAnswer(status: number, body: string): void {
  expect(status).toBeLessThan(500);
  if (status >= 400) {
    const parsed = JSON.parse(body) as { error: unknown; issues: Array<{ path: unknown; message: unknown }> };
    expect(typeof parsed.error).toBe('string');
    for (const issue of parsed.issues) {
      expect(typeof issue.path).toBe('string');
      expect(typeof issue.message).toBe('string');
    }
  }
}

/** JSON values, and ship bodies with one field replaced by anything. */
const bodies = fc.oneof(
  fc.jsonValue(),
  fc
    .tuple(
      fc.constantFrom('account', 'tid', 'shop_id', 'out_sid', 'company_code', 'sub_tid', 'is_split'),
      fc.jsonValue(),
    )
    .map(([key, value]) => ({ ...shipBody(), [key]: value })),
);

describe('random bodies', () => {
  for (const url of ['/v1/ship', '/v1/sync', '/v1/batch', '/v1/dead-letter/redrive']) {
    it(`POST ${url}`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            bodies,
            bodies.map((body) => ({ jobs: [body] })),
          ),
          async (body) => {
            const response = await h.inject({
              method: 'POST',
              url,
              headers: { ...AUTH, 'content-type': 'application/json' },
              payload: JSON.stringify(body) ?? 'null',
            });
            expectClientAnswer(response.statusCode, response.body);
          },
        ),
        { numRuns: 150 },
      );
    });
  }

  it('raw text as JSON', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 200 }), async (text) => {
        const response = await h.inject({
          method: 'POST',
          url: '/v1/batch',
          headers: { ...AUTH, 'content-type': 'application/json' },
          payload: text,
        });
        expectClientAnswer(response.statusCode, response.body);
      }),
      { numRuns: 150 },
    );
  });
});

describe('random query strings and ids', () => {
  const value = fc.oneof(fc.string({ maxLength: 30 }), fc.integer().map(String), fc.constant(''));
  const query = fc.dictionary(
    fc.constantFrom(
      'limit',
      'cursor',
      'account',
      'code',
      'queue',
      'from',
      'to',
      'groupBy',
      'format',
      'other',
    ),
    value,
  );

  for (const url of ['/v1/dead-letter', '/v1/ledger/summary', '/v1/ledger/entries']) {
    it(`GET ${url}`, async () => {
      await fc.assert(
        fc.asyncProperty(query, async (params) => {
          const response = await h.inject({ url: `${url}?${new URLSearchParams(params)}`, headers: AUTH });
          expectClientAnswer(response.statusCode, response.body);
        }),
        { numRuns: 150 },
      );
    });
  }

  it('ids in paths', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 80 }), async (id) => {
        const encoded = encodeURIComponent(id);
        for (const [method, url] of [
          ['GET', `/v1/jobs/${encoded}`],
          ['DELETE', `/v1/dead-letter/${encoded}`],
          ['POST', `/v1/accounts/${encoded}/resume`],
        ] as const) {
          const response = await h.inject({ method, url, headers: AUTH });
          expectClientAnswer(response.statusCode, response.body);
        }
      }),
      { numRuns: 150 },
    );
  });
});
