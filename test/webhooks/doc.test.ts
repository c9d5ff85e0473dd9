import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/index.js';
import { appendEvent } from '../../src/events/index.js';
import { createLogger } from '../../src/log.js';
import { WebhookDeliverer } from '../../src/webhooks/index.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';
import { newSecret, sampleEvents } from './fixtures.js';
import { type Receiver, startReceiver } from './receiver.js';

/**
 * docs/webhooks.md shows receivers how to check a signature by hand. A wrong example there would have
 * them reject every delivery (or accept forged ones), so the doc's own function is run here against
 * real deliveries.
 */
const doc = readFileSync(new URL('../../docs/webhooks.md', import.meta.url), 'utf8');
type Verify = (secret: string, headers: Record<string, string>, body: string) => boolean;

async function docVerify(): Promise<Verify> {
  const block = /```ts\n(import \{ createHmac[\s\S]*?)```/.exec(doc)?.[1];
  if (!block) throw new Error('the hand-made verifier is not where this test expects it in the doc');
  const { code } = transformSync(`${block}\nexport { verify };\n`, { loader: 'ts', format: 'esm' });
  const dir = mkdtempSync(join(tmpdir(), 'webhooks-doc-'));
  try {
    const file = join(dir, 'verify.mjs');
    writeFileSync(file, code);
    return ((await import(pathToFileURL(file).href)) as { verify: Verify }).verify;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let r: TestRedis;
let receiver: Receiver;
let deliverer: WebhookDeliverer | undefined;

beforeAll(async () => {
  r = await testRedis('webhooks-doc');
  receiver = await startReceiver();
});
afterAll(async () => {
  await deliverer?.close(true);
  await receiver?.close();
  await r?.cleanup();
});

describe('docs/webhooks.md', () => {
  it('the hand-made verifier accepts what the service sends, and nothing else', async () => {
    const verify = await docVerify();
    const secret = newSecret();
    const id = await appendEvent(r.redis, r.prefix, 'job.dead', sampleEvents('acct-doc')['job.dead']);
    deliverer = new WebhookDeliverer({
      redis: r.redis,
      prefix: r.prefix,
      url: receiver.url,
      secret: new Secret(secret),
      log: createLogger({ level: 'silent' }),
    }).start();
    const got = await until('delivered', () => receiver.delivered().get(`evt_${id}`));
    const headers = got.headers as Record<string, string>;
    expect(verify(secret, headers, got.body)).toBe(true);
    expect(verify(secret, headers, got.body.replace('acct-doc', 'acct-dod'))).toBe(false);
    expect(verify(newSecret(), headers, got.body)).toBe(false);
    expect(
      verify(
        secret,
        { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) - 600) },
        got.body,
      ),
    ).toBe(false);
    // A rotation-style header with an unknown signature first still verifies.
    expect(
      verify(
        secret,
        { ...headers, 'webhook-signature': `v1,AAAA ${headers['webhook-signature']}` },
        got.body,
      ),
    ).toBe(true);
  });
});
