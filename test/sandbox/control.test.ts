import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, SandboxInputError, sandboxControl, startSandbox } from '../../src/sandbox/index.js';
import { until } from '../helpers/wait.js';
import { DELIVERY_PATH, delivery, dmjPost, ship, vvSend } from './helpers.js';

const VV = 'vv-secret-token-5555';
const DMJ = 'dmj-secret-token-6666';

let sandbox: Sandbox;
let control: ReturnType<typeof sandboxControl>;

beforeAll(async () => {
  sandbox = await startSandbox({
    accounts: [
      { token: VV, label: 'vv', provider: 'vvtool', balance: 50 },
      { token: DMJ, label: 'dmj', provider: 'damaijia' },
    ],
    ratePerSecond: 1000,
    price: 2,
  });
  control = sandboxControl(`${sandbox.url}/`);
});
afterAll(() => sandbox.close());
beforeEach(() => control.reset());

const controlPost = (path: string, body: string) =>
  fetch(`${sandbox.url}/_sandbox/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });

describe('sandboxControl over /_sandbox/', () => {
  it('scripts answers and reads calls back, filtered by account and time', async () => {
    await control.script('vvtool', '1', [{ code: 101 }]);
    await vvSend(sandbox.url, VV, ship('1'));
    const middle = performance.timeOrigin + performance.now();
    await vvSend(sandbox.url, VV, ship('1'));
    await dmjPost(sandbox.url, DELIVERY_PATH, DMJ, delivery('2'));
    expect((await control.calls()).map((call) => call.code)).toEqual([101, 0, 0]);
    expect((await control.calls({ account: 'dmj' })).map((call) => call.orderKey)).toEqual(['2']);
    expect((await control.calls({ since: middle })).map((call) => call.seq)).toEqual([2, 3]);
    expect(await control.calls({ account: 'vv', since: middle })).toEqual(
      sandbox.calls({ account: 'vv', since: middle }),
    );
  });

  it('sets faults and clears them with null', async () => {
    await control.setFaults({ rate: 1, kinds: ['garbage'], seed: 9 });
    expect((await vvSend(sandbox.url, VV, ship('3'))).body).toBeUndefined();
    await control.setFaults(null);
    expect((await vvSend(sandbox.url, VV, ship('3'))).body).toMatchObject({
      code: 0,
      data: [{ withholding_money: 2 }],
    });
  });

  it('sets and reads balances; the report counts at the configured price', async () => {
    await control.setBalance('vv', 3);
    expect(await control.balance('vv')).toBe(3);
    await vvSend(sandbox.url, VV, ship('4'));
    expect((await vvSend(sandbox.url, VV, ship('5'))).body).toMatchObject({ code: 204 });
    const report = await control.report();
    expect(report).toEqual(sandbox.report());
    expect(report).toMatchObject({
      calls: 2,
      charged: 2,
      byAccount: { vv: { calls: 2, charged: 2, balance: 1 } },
    });
  });

  it('resets calls, book, scripts, faults and balances to their start', async () => {
    await control.script('vvtool', '6', [{ code: 202 }]);
    await vvSend(sandbox.url, VV, ship('7'));
    await control.setFaults({ rate: 1, kinds: ['http500'] });
    await control.reset();
    expect(await control.calls()).toEqual([]);
    expect(await control.balance('vv')).toBe(50);
    expect((await vvSend(sandbox.url, VV, ship('7'))).body).toMatchObject({ code: 0 });
    expect((await vvSend(sandbox.url, VV, ship('6'))).body).toMatchObject({ code: 0 });
    expect((await control.calls())[0]!.seq).toBe(1);
  });

  it('throws the 400 error of a bad request', async () => {
    await expect(control.script('vvtool', '8', [{ fault: 'http429', when: 'after' }])).rejects.toThrow(
      /400: answers\[0\]: only reset, stall, .* can come after processing/,
    );
    await expect(control.setBalance('nobody', 1)).rejects.toThrow(/400: no sandbox account labelled nobody/);
    await expect(control.setFaults({ rate: 2, kinds: ['reset'] })).rejects.toThrow(/400: faults.rate/);
    await expect(control.balance('nobody')).rejects.toThrow(/no account labelled nobody/);
  });
});

describe('/_sandbox/ raw routes', () => {
  it('clears faults on an empty body, refuses bad JSON, 404s unknown routes', async () => {
    sandbox.setFaults({ rate: 1, kinds: ['http500'] });
    expect((await controlPost('faults', '')).status).toBe(200);
    expect((await vvSend(sandbox.url, VV, ship('9'))).status).toBe(200);
    const bad = await controlPost('script', '{nope');
    expect([bad.status, await bad.json()]).toEqual([400, { error: 'body is not JSON' }]);
    const unknown = await fetch(`${sandbox.url}/_sandbox/nothing`);
    expect(unknown.status).toBe(404);
    const since = await fetch(`${sandbox.url}/_sandbox/calls?since=yesterday`);
    expect(since.status).toBe(400);
  });

  it('is neither recorded nor rate limited', async () => {
    await Promise.all(Array.from({ length: 30 }, () => control.report()));
    expect((await control.report()).calls).toBe(0);
  });

  it('answers paths outside both providers with HTTP 404 and records nothing', async () => {
    const res = await fetch(`${sandbox.url}/favicon.ico`);
    expect(res.status).toBe(404);
    expect(sandbox.calls()).toEqual([]);
  });
});

describe('latency: a slow upstream', () => {
  it('answers every call that much later, with arrival stamped at once; reset sets it back', async () => {
    await control.setLatency(80);
    const res = await vvSend(sandbox.url, VV, ship('31'));
    const answeredAt = performance.timeOrigin + performance.now();
    expect(res.status).toBe(200);
    const [call] = sandbox.calls();
    expect(call?.code).toBe(0);
    // Timers may fire up to a millisecond early; the answer left no sooner than the latency.
    expect(answeredAt - call!.at).toBeGreaterThanOrEqual(79);
    await control.reset();
    expect(sandbox.report().calls).toBe(0);
    const held = await startSandbox({ accounts: [{ token: VV, label: 'vv' }], latencyMs: 60_000 });
    try {
      const pending = vvSend(held.url, VV, ship('32')).then(
        () => 'answered',
        () => 'dropped',
      );
      await until('the call to arrive', () => held.calls().length === 1);
      // Processed and charged on arrival; the answer waits. Closing ends it instead of waiting a minute.
      expect(held.calls()[0]?.charged).toBe(1);
      await held.close();
      expect(await pending).toBe('dropped');
    } finally {
      await held.close();
    }
  });

  it('refuses a latency that is not 0 to 60000 ms, naming it', async () => {
    for (const body of ['{"ms":-1}', '{"ms":60001}', '{"ms":"5"}', '{}']) {
      const res = await controlPost('latency', body);
      expect([res.status, await res.json()]).toEqual([
        400,
        { error: 'latencyMs must be a number of ms from 0 to 60000' },
      ]);
    }
    await expect(startSandbox({ accounts: [], latencyMs: -5 })).rejects.toThrow(SandboxInputError);
  });
});

describe('tokens never leave the sandbox', () => {
  it('appears in no record, report or control answer, whatever the call', async () => {
    await vvSend(sandbox.url, VV, ship('10'));
    await vvSend(sandbox.url, DMJ, ship('11'));
    await dmjPost(sandbox.url, DELIVERY_PATH, DMJ, delivery('12'));
    await dmjPost(sandbox.url, DELIVERY_PATH, null, delivery('13'), `Bearer ${DMJ}`);
    sandbox.script('vvtool', '14', [{ fault: 'reset', when: 'after' }]);
    await vvSend(sandbox.url, VV, ship('14')).catch(() => undefined);
    const texts = [
      JSON.stringify(sandbox.calls()),
      JSON.stringify(sandbox.report()),
      await (await fetch(`${sandbox.url}/_sandbox/calls`)).text(),
      await (await fetch(`${sandbox.url}/_sandbox/report`)).text(),
    ];
    for (const text of texts) {
      expect(text).not.toContain(VV);
      expect(text).not.toContain(DMJ);
    }
    expect(sandbox.calls()).toHaveLength(5);
  });

  it('keeps a repeated token out of the start-up error', async () => {
    const start = startSandbox({
      accounts: [
        { token: 'dup-secret-777', label: 'a' },
        { token: 'dup-secret-777', label: 'b' },
      ],
    });
    await expect(start).rejects.toThrow(SandboxInputError);
    await expect(start).rejects.not.toThrow(/dup-secret-777/);
  });
});

describe('independence from the product', () => {
  it('imports nothing from src/upstreams or src/outcomes', () => {
    const dir = join(import.meta.dirname, '../../src/sandbox');
    for (const file of readdirSync(dir)) {
      const text = readFileSync(join(dir, file), 'utf8');
      expect(text, file).not.toMatch(/from\s+['"][^'"]*(upstreams|outcomes)\//);
      expect(text, file).not.toMatch(/from\s+['"]\.\.\//);
    }
  });
});
