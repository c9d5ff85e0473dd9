import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/index.js';
import { createLogger } from '../../src/log.js';
import { WebhookDeliverer } from '../../src/webhooks/index.js';
import { startTestPipeline, type TestPipeline, testAccount, vvtoolShip } from '../helpers/pipeline.js';
import { until } from '../helpers/wait.js';
import { newSecret } from './fixtures.js';
import { type Receiver, startReceiver } from './receiver.js';

// The pipeline's own events, end to end: recorded by the scripts that make each change, delivered
// signed to a receiver on loopback. A receiver that hangs holds up no shipment.
const vv = testAccount('whp', 'vvtool');
const secret = newSecret();
let p: TestPipeline;
let receiver: Receiver;
let deliverer: WebhookDeliverer;

beforeAll(async () => {
  p = await startTestPipeline('webhook-pipeline', [vv]);
  receiver = await startReceiver();
  deliverer = new WebhookDeliverer({
    redis: p.redis,
    prefix: p.prefix,
    url: receiver.url,
    secret: new Secret(secret),
    log: createLogger({ level: 'silent' }),
    timeoutMs: 1_000,
    retryDelaysMs: [50, 50, 50, 50],
    leaseMs: 3_000,
    pollMs: 50,
  }).start();
  // The deliverer's consumer group exists from here on: the scripts record events.
  await until('the outbox to exist', async () => (await p.redis.exists(`${p.prefix}:outbox`)) === 1);
  p.startWorkers(['ship']);
});
afterAll(async () => {
  await deliverer?.close(true);
  await receiver?.close();
  await p?.close();
});

const finished = (id: string, state: 'completed' | 'dead') =>
  until(`job ${id} to be ${state}`, async () => (await p.service.getJob(id))?.state === state, {
    timeoutMs: 30_000,
  });

function verified(type: string, id: string) {
  const hook = new Webhook(secret);
  for (const item of receiver.received) {
    if (typeof item.answer !== 'number' || item.answer >= 300) continue;
    const event = JSON.parse(item.body) as { type: string; data: { id: string } };
    if (event.type !== type || event.data.id !== id) continue;
    hook.verify(item.body, {
      'webhook-id': String(item.headers['webhook-id']),
      'webhook-timestamp': String(item.headers['webhook-timestamp']),
      'webhook-signature': String(item.headers['webhook-signature']),
    });
    return event;
  }
  return undefined;
}

describe('the pipeline’s events at a receiver', () => {
  it('a hanging receiver holds up no shipment; once it answers, every event arrives signed', async () => {
    receiver.answer(() => 'hang');
    const ok = vvtoolShip(vv.id);
    const bad = vvtoolShip(vv.id);
    p.sandbox.script('vvtool', bad.tid as string, [{ code: 614, msg: '没有权限进行发货' }]);
    const [done, dead] = await p.service.producer.batch([
      { type: 'ship', ...ok },
      { type: 'ship', ...bad },
    ]);
    await finished(done!.id, 'completed');
    await finished(dead!.id, 'dead');
    expect(receiver.received.length).toBeGreaterThan(0);
    expect(receiver.received.every((item) => item.answer === 'hang')).toBe(true);

    await p.service.deadLetters.redrive({ ids: [dead!.id] });
    await finished(dead!.id, 'completed');
    await p.service.holdAccount(vv.id, 'checking the token');
    await p.service.resumeAccount(vv.id);

    receiver.answer(() => 204);
    await until('every event to arrive', () =>
      [
        verified('job.completed', done!.id),
        verified('job.dead', dead!.id),
        verified('job.redriven', dead!.id),
        verified('job.completed', dead!.id),
        verified('account.held', vv.id),
        verified('account.resumed', vv.id),
      ].every((event) => event !== undefined),
    );
    expect(verified('job.completed', done!.id)).toMatchObject({
      type: 'job.completed',
      data: {
        id: done!.id,
        queue: 'ship',
        name: 'vvtool.send',
        account: vv.id,
        result: 'shipped',
        charge: 1,
      },
    });
    expect(verified('account.held', vv.id)).toMatchObject({
      data: { id: vv.id, provider: 'vvtool', reason: 'checking the token', code: null },
    });
    const bodies = receiver.received.map((item) => item.body).join('\n');
    expect(bodies).not.toContain(vv.token);
  });
});
