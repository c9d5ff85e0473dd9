import { describe, expect, it } from 'vitest';
import type { Provider } from '../../src/config/index.js';
import { classify, normaliseMessage, OUTCOME_TABLES } from '../../src/outcomes/index.js';
import type { AnsweredReply, UnansweredReply } from '../../src/upstreams/index.js';

// classify is pure: these pin its rules on hand-made replies. tables.e2e.test.ts runs every row over HTTP.

function reply(provider: Provider, fields: Partial<AnsweredReply>): AnsweredReply {
  return {
    answered: true,
    provider,
    httpStatus: 200,
    code: 0,
    message: '',
    charge: 0,
    chargeKnown: true,
    body: {},
    raw: '{}',
    durationMs: 1,
    ...fields,
  };
}

describe('classify', () => {
  it('retries every unanswered call, with the failure as the message and no code', () => {
    for (const failure of ['refused', 'timeout', 'reset', 'network', 'late'] as const) {
      const r: UnansweredReply = {
        answered: false,
        provider: 'vvtool',
        failure,
        sent: failure !== 'refused' && failure !== 'late',
        message: `it was a ${failure}`,
        durationMs: 3,
      };
      const outcome = classify('vvtool', r);
      expect(outcome).toMatchObject({ outcome: 'retry', code: null, message: `it was a ${failure}` });
      expect(outcome.reason).not.toBe('');
    }
  });

  it('retries HTTP 5xx and 429 whatever the body says, and keeps the code it carried', () => {
    for (const httpStatus of [500, 502, 503, 504, 429]) {
      for (const code of [0, 401, 614, null]) {
        const outcome = classify('vvtool', reply('vvtool', { httpStatus, code }));
        expect(outcome).toMatchObject({ outcome: 'retry', code });
        expect(outcome.reason).toContain(String(httpStatus));
      }
    }
  });

  it('reads a code from 4xx and other non-5xx statuses', () => {
    expect(classify('vvtool', reply('vvtool', { httpStatus: 401, code: 401 })).outcome).toBe('hold');
    expect(classify('damaijia', reply('damaijia', { httpStatus: 400, code: 422 })).outcome).toBe('dead');
  });

  it('retries an answer whose body is not the documented JSON', () => {
    expect(classify('damaijia', reply('damaijia', { code: null, httpStatus: 200 }))).toMatchObject({
      outcome: 'retry',
      code: null,
    });
  });

  it('sends an unknown code to the dead-letter queue saying "unknown code N"', () => {
    expect(classify('vvtool', reply('vvtool', { code: 999, message: '??' }))).toEqual({
      outcome: 'dead',
      reason: 'unknown code 999',
      code: 999,
      message: '??',
    });
    // Known at vv-tool, not at damaijia.
    expect(classify('damaijia', reply('damaijia', { code: 401 })).reason).toBe('unknown code 401');
    expect(classify('vvtool', reply('vvtool', { code: 209 })).reason).toBe('unknown code 209');
  });

  it('reads the same number in its own provider table: 200 and 202', () => {
    expect(classify('vvtool', reply('vvtool', { code: 202 })).outcome).toBe('retry');
    expect(classify('damaijia', reply('damaijia', { code: 202 })).outcome).toBe('dead');
    expect(classify('vvtool', reply('vvtool', { code: 200 })).reason).toContain('VVTOOL_BASE_URL');
    expect(classify('damaijia', reply('damaijia', { code: 200 })).reason).toContain('authentication');
  });

  it('picks the done result by operation, shipped by default', () => {
    const ok = reply('damaijia', { code: 0 });
    expect(classify('damaijia', ok).result).toBe('shipped');
    expect(classify('damaijia', ok, 'damaijia.delivery').result).toBe('shipped');
    expect(classify('damaijia', ok, 'damaijia.sync').result).toBe('synced');
    expect(classify('vvtool', reply('vvtool', { code: 0 }), 'vvtool.send').result).toBe('shipped');
    expect(classify('vvtool', reply('vvtool', { code: 101 })).result).toBeUndefined();
  });

  describe('vv-tool 614 by message', () => {
    const at614 = (message: string) => classify('vvtool', reply('vvtool', { code: 614, message }));

    it('matches after trimming and reads the full-width comma as a comma', () => {
      expect(at614('  系统异常\n').outcome).toBe('retry');
      expect(at614('发货异常，请稍等后重试').outcome).toBe('retry');
      expect(at614(' 发货异常,请稍等后重试 ').outcome).toBe('retry');
      expect(at614('物流订单状态不为新建状态，无需发货处理')).toMatchObject({
        outcome: 'done',
        result: 'already_shipped',
      });
    });

    it('matches exactly otherwise: a longer or different message is dead, with the message in the reason', () => {
      for (const message of [
        '系统异常了',
        '发货异常',
        '物流订单状态不为新建状态',
        '运单号不符合规则或已经被使用',
        '',
      ]) {
        const outcome = at614(message);
        expect(outcome.outcome).toBe('dead');
        expect(outcome.reason).toContain('614');
        if (message !== '') expect(outcome.reason).toContain(message);
      }
    });

    it('keeps "$" sequences of a message as text in the reason', () => {
      expect(at614("运单号 $& $' $1").reason).toContain("运单号 $& $' $1");
    });
  });

  it('puts damaijia 422 err text in the reason and the message', () => {
    const outcome = classify('damaijia', reply('damaijia', { code: 422, message: 'wp_code 不合法' }));
    expect(outcome).toMatchObject({ outcome: 'dead', code: 422, message: 'wp_code 不合法' });
    expect(outcome.reason).toContain('wp_code 不合法');
  });
});

describe('the tables', () => {
  it('give every row a reason, and done rows only where success means it', () => {
    for (const [provider, rows] of Object.entries(OUTCOME_TABLES)) {
      for (const row of rows) {
        expect(row.reason.length, `${provider} ${row.code}`).toBeGreaterThan(3);
        if (row.result !== undefined) expect(row.outcome).toBe('done');
      }
    }
  });

  it('normalise messages the way the rows are written', () => {
    expect(normaliseMessage(' 发货异常，请稍等后重试 ')).toBe('发货异常,请稍等后重试');
  });
});
