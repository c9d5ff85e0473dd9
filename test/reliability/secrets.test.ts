import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../support/ports.js';
import { startTestPipeline, type TestAccount, type TestPipeline, vvtoolShip } from '../helpers/pipeline.js';
import { type Child, spawnNode } from '../helpers/processes.js';
import { until } from '../helpers/wait.js';

// After a run with a held account and dead jobs, no secret, nor the first 8 characters of one,
// appears in Redis (keys or values under the prefix), the process's logs (at debug level),
// /metrics, or any API answer.
const secret = () => randomBytes(16).toString('hex');
const vv: TestAccount = { id: 'sec-vv', provider: 'vvtool', token: secret() };
const held: TestAccount = { id: 'sec-held', provider: 'vvtool', token: secret() };
const dm: TestAccount = { id: 'sec-dm', provider: 'damaijia', token: secret() };
const apiKey = secret();
const adminPassword = secret();
const secrets = [vv.token, held.token, dm.token, apiKey, adminPassword];
let p: TestPipeline;
let service: Child;
let base: string;

beforeAll(async () => {
  p = await startTestPipeline('secrets', [vv, held, dm]);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  service = spawnNode('workers/all.ts', {
    ...p.env,
    PORT: String(port),
    API_KEYS: apiKey,
    ADMIN_USER: 'admin',
    ADMIN_PASSWORD: adminPassword,
    LOG_LEVEL: 'trace',
  });
  await until('the API', async () => (await fetch(`${base}/healthz`).catch(() => null))?.ok || undefined, {
    timeoutMs: 30_000,
  });
});
afterAll(async () => {
  await service?.stop();
  await p?.close();
});

async function api(path: string, init: RequestInit = {}): Promise<string> {
  const response = await fetch(`${base}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...init.headers },
  });
  return `${response.status} ${JSON.stringify([...response.headers])} ${await response.text()}`;
}

async function redisDump(): Promise<string> {
  const parts: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await p.redis.scan(cursor, 'MATCH', `${p.prefix}:*`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      parts.push(key);
      const type = await p.redis.type(key);
      if (type === 'string') parts.push((await p.redis.get(key)) ?? '');
      else if (type === 'hash') parts.push(JSON.stringify(await p.redis.hgetall(key)));
      else if (type === 'list') parts.push(JSON.stringify(await p.redis.lrange(key, 0, -1)));
      else if (type === 'set') parts.push(JSON.stringify(await p.redis.smembers(key)));
      else if (type === 'zset')
        parts.push(JSON.stringify(await p.redis.call('ZRANGE', key, '0', '-1', 'WITHSCORES')));
      else if (type === 'stream') parts.push(JSON.stringify(await p.redis.xrange(key, '-', '+')));
    }
  } while (cursor !== '0');
  return parts.join('\n');
}

function leaks(text: string): string[] {
  return secrets.flatMap((value) => [value, value.slice(0, 8)]).filter((needle) => text.includes(needle));
}

describe('secrets stay secret', () => {
  it('leaves no token, API key or admin password anywhere after a run with held and dead jobs', async () => {
    const heldJob = vvtoolShip(held.id);
    p.sandbox.script('vvtool', heldJob.tid as string, [{ code: 401 }]);
    const deadJob = vvtoolShip(vv.id);
    p.sandbox.script('vvtool', deadJob.tid as string, [{ code: 614, msg: '没有权限进行发货' }]);
    const answers = [
      await api('/v1/ship', { method: 'POST', body: JSON.stringify(heldJob) }),
      await api('/v1/ship', { method: 'POST', body: JSON.stringify(deadJob) }),
      await api('/v1/ship', { method: 'POST', body: JSON.stringify(vvtoolShip(vv.id)) }),
      await api('/v1/sync', {
        method: 'POST',
        body: JSON.stringify({ account: dm.id, orderSns: 'S1', ownerId: 'O1' }),
      }),
      await api('/v1/ship', { method: 'POST', body: JSON.stringify({ account: vv.id, tid: 'bad' }) }),
    ];
    await until('the account held and the dead job parked', async () => {
      const accounts = await p.service.listAccounts();
      const dead = await p.service.deadLetters.count();
      return (accounts.some((account) => account.state === 'held') && dead >= 1) || undefined;
    });
    for (const path of [
      '/v1/accounts',
      '/v1/dead-letter',
      '/v1/ledger/summary?groupBy=account',
      '/v1/ledger/entries',
      '/v1/ledger/entries?format=csv',
      `/v1/jobs/${encodeURIComponent(`vvtool.${held.id}.${heldJob.tid}.all.${heldJob.out_sid}`)}`,
      '/openapi.json',
      '/readyz',
    ]) {
      answers.push(await api(path));
    }
    answers.push(await api('/v1/accounts', { headers: { authorization: 'Bearer wrong-key-wrong-key' } }));
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const board = await (
      await fetch(`${base}/admin/queues/api/queues`, {
        headers: { authorization: `Basic ${Buffer.from(`admin:${adminPassword}`).toString('base64')}` },
      })
    ).text();

    expect(metrics).toContain('sec-held');
    expect(leaks(answers.join('\n'))).toEqual([]);
    expect(leaks(metrics)).toEqual([]);
    expect(leaks(board)).toEqual([]);
    expect(leaks(await redisDump())).toEqual([]);
    await service.stop();
    const logs = service.output();
    expect(logs).toContain('account held');
    expect(leaks(logs)).toEqual([]);
  });
});
