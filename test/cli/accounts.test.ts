import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountView, Fulfillment } from '../../src/queues/service.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';
import { cli, cliEnv, testService, vvShip } from './cli.js';

let t: TestRedis;
let env: Record<string, string>;
let service: Fulfillment;

beforeAll(async () => {
  t = await testRedis('cli-accounts');
  env = cliEnv(t);
  service = testService(t);
});
afterAll(async () => {
  await service.close();
  await t.cleanup();
});

describe('fulfill accounts', () => {
  it('lists the configured accounts, never a token', async () => {
    const human = await cli(['accounts', 'list'], env);
    expect(human.code).toBe(0);
    expect(human.stdout.split('\n')).toEqual([
      'ID   PROVIDER  RATE/S  STATE   BACKLOG  CODE  SINCE  REASON',
      'vv1  vvtool         5  active        0  -     -      -',
      'dm1  damaijia      10  active        0  -     -      -',
      'vv2  vvtool        10  active        0  -     -      -',
      '',
    ]);
    const json = await cli(['accounts', 'list', '--json'], env);
    expect(json.json<{ items: AccountView[] }>().items).toEqual(await service.listAccounts());
    expect(json.stdout).not.toContain('token');
  });

  it('shows a held account with its reason, and resumes it', async () => {
    await service.limiter.hold('vv2', {
      reason: 'token rejected; fix the account, then resume',
      code: 401,
      message: 'bad token',
    });
    const held = await cli(['accounts', 'list', '--json'], env);
    const vv2 = held.json<{ items: AccountView[] }>().items.find((a) => a.id === 'vv2');
    expect(vv2).toMatchObject({
      state: 'held',
      code: 401,
      reason: 'token rejected; fix the account, then resume',
    });
    expect(Number.isNaN(Date.parse(vv2!.since!))).toBe(false);
    expect((await cli(['accounts', 'list'], env)).stdout).toMatch(
      /^vv2\s+vvtool\s+10\s+held\s+0\s+401\s+\S+Z\s+token rejected; fix/m,
    );

    const resumed = await cli(['accounts', 'resume', 'vv2', '--json'], env);
    expect(resumed.code).toBe(0);
    expect(resumed.json()).toEqual({ id: 'vv2', state: 'active', released: 0 });
    expect((await service.listAccounts()).find((a) => a.id === 'vv2')?.state).toBe('active');
    expect((await cli(['accounts', 'resume', 'vv2'], env)).stdout).toBe(
      'account vv2 is active; 0 waiting job(s) released\n',
    );
  });

  it('fails to resume an account that is not configured', async () => {
    const run = await cli(['accounts', 'resume', 'ghost'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('error: no account "ghost" is configured\n');
    expect((await cli(['accounts', 'resume'], env)).code).toBe(2);
  });
});

describe('fulfill accounts hold', () => {
  it('holds an account by hand with its reason, once; resume ends it', async () => {
    const held = await cli(['accounts', 'hold', 'vv1', '--reason', 'waybills being re-printed'], env);
    expect([held.code, held.stdout]).toEqual([
      0,
      'account vv1 is held; its jobs wait until "fulfill accounts resume vv1"\n',
    ]);
    const view = (await service.listAccounts()).find((a) => a.id === 'vv1');
    expect(view).toMatchObject({ state: 'held', reason: 'waybills being re-printed', code: null });

    const again = await cli(['accounts', 'hold', 'vv1', '--reason', 'another reason', '--json'], env);
    expect([again.code, again.json()]).toEqual([0, { id: 'vv1', state: 'held', changed: false }]);
    expect((await service.listAccounts()).find((a) => a.id === 'vv1')).toEqual(view);

    expect((await cli(['accounts', 'resume', 'vv1'], env)).code).toBe(0);
    expect((await service.listAccounts()).find((a) => a.id === 'vv1')?.state).toBe('active');
  });

  it('refuses a bad reason by name, an unknown account, and a missing --reason', async () => {
    const blank = await cli(['accounts', 'hold', 'vv1', '--reason', ' '], env);
    expect([blank.code, blank.stderr]).toEqual([1, 'error: refused: 1 problem\nreason: must not be blank\n']);
    const long = await cli(['accounts', 'hold', 'vv1', '--reason', 'x'.repeat(257)], env);
    expect(long.stderr).toMatch(/^reason: must be a string of 1-256 characters .*; got 257 characters$/m);
    expect((await service.listAccounts()).find((a) => a.id === 'vv1')?.state).toBe('active');
    const ghost = await cli(['accounts', 'hold', 'ghost', '--reason', 'why'], env);
    expect([ghost.code, ghost.stderr]).toEqual([1, 'error: no account "ghost" is configured\n']);
    const missing = await cli(['accounts', 'hold', 'vv1'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^fulfill: --reason is required/);
  });
});

describe('fulfill job', () => {
  it('shows a queued job and fails for an unknown id', async () => {
    const { id } = await service.producer.ship(vvShip('42', 'YT4200000'));
    const run = await cli(['job', id, '--json'], env);
    expect(run.code).toBe(0);
    expect(run.json()).toEqual({
      id,
      queue: 'ship',
      name: 'vvtool.send',
      state: 'waiting',
      attemptsMade: 0,
      result: null,
      lastError: null,
    });
    expect((await cli(['job', id], env)).stdout).toMatch(/^name\s+vvtool\.send\n/m);
    const missing = await cli(['job', 'vvtool.vv1.1.all.NOPE000'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('error: no job "vvtool.vv1.1.all.NOPE000"\n');
    expect((await cli(['job', 'a', 'b'], env)).code).toBe(2);
  });
});
