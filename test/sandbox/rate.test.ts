import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CallRecord, maxInSlidingWindow, type Sandbox, startSandbox } from '../../src/sandbox/index.js';
import { DELIVERY_PATH, delivery, dmjPost, ship, vvSend } from './helpers.js';

const RATE = 3;
const VV = 'vv-token-rate';
const VV2 = 'vv-token-rate-2';
const DMJ = 'dmj-token-rate';

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({
    accounts: [
      { token: VV, label: 'vv', provider: 'vvtool' },
      { token: VV2, label: 'vv2', provider: 'vvtool' },
      { token: DMJ, label: 'dmj' },
    ],
    ratePerSecond: RATE,
  });
});
afterAll(() => sandbox.close());
beforeEach(() => sandbox.reset());

/** For each call, how many of its account's calls arrived in the 1000 ms window ending at it. */
function inWindow(calls: CallRecord[], call: CallRecord): number {
  return calls.filter(
    (other) => other.account === call.account && other.at > call.at - 1000 && other.at <= call.at,
  ).length;
}

describe('rate: ratePerSecond calls per token in any sliding 1000 ms', () => {
  it('answers the calls above the limit 429, unprocessed and uncharged, and records each', async () => {
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => vvSend(sandbox.url, VV, ship(String(100 + i)))),
    );
    const calls = sandbox.calls({ account: 'vv' });
    expect(calls).toHaveLength(12);
    // Exactly the calls beyond the limit by arrival time were refused, whatever the timing was.
    for (const call of calls) {
      const over = inWindow(calls, call) > RATE;
      expect(call.httpStatus).toBe(over ? 429 : 200);
      if (over)
        expect(call).toMatchObject({ code: 429, processed: false, charged: 0, msg: 'too many requests' });
    }
    const refused = answers.filter((res) => res.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    for (const res of refused) expect(res.body).toEqual({ code: 429, msg: 'too many requests' });

    const report = sandbox.report();
    const times = calls.map((call) => call.at);
    expect(report.byAccount['vv']).toMatchObject({
      calls: 12,
      maxInWindow: maxInSlidingWindow(times),
      violations: refused.length,
      charged: 12 - refused.length,
    });
    expect(report.violations).toHaveLength(refused.length);
    for (const violation of report.violations) {
      expect(violation.account).toBe('vv');
      expect(violation.count).toBeGreaterThan(RATE);
      expect(times).toContain(violation.at);
    }
  });

  it("answers damaijia's 429 in its own shape", async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        dmjPost(sandbox.url, DELIVERY_PATH, DMJ, delivery(String(200 + i))),
      ),
    );
    const refused = answers.filter((res) => res.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    for (const res of refused) expect(res.body).toEqual({ status: 429, err: 'too many requests' });
  });

  it('keeps one window per token, shared by both providers for a token accepted by both', async () => {
    for (let i = 0; i < RATE; i++) await vvSend(sandbox.url, VV, ship(String(300 + i)));
    // Another token is not affected by vv's window.
    expect((await vvSend(sandbox.url, VV2, ship('310'))).status).toBe(200);
    for (let i = 0; i < RATE; i++) await vvSend(sandbox.url, DMJ, ship(String(320 + i)));
    const dmj = await dmjPost(sandbox.url, DELIVERY_PATH, DMJ, delivery('330'));
    const dmjCalls = sandbox.calls({ account: 'dmj' });
    const over = inWindow(dmjCalls, dmjCalls.at(-1)!) > RATE;
    expect(dmj.status).toBe(over ? 429 : 200);
    expect(new Set(dmjCalls.map((call) => call.provider))).toEqual(new Set(['vvtool', 'damaijia']));
    expect(sandbox.report().byAccount['dmj']!.maxInWindow).toBe(
      maxInSlidingWindow(dmjCalls.map((call) => call.at)),
    );
    expect(sandbox.report().byAccount['vv2']).toMatchObject({ calls: 1, violations: 0, maxInWindow: 1 });
  });

  it('does not count calls that fail auth against any account', async () => {
    await Promise.all(
      Array.from({ length: 6 }, (_, i) => vvSend(sandbox.url, 'unknown', ship(String(400 + i)))),
    );
    const report = sandbox.report();
    expect(report.calls).toBe(6);
    expect(report.violations).toEqual([]);
    expect(Object.values(report.byAccount).every((account) => account.calls === 0)).toBe(true);
  });
});
