import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { idempotencyKey, type JobData } from '../../src/jobs/index.js';

/**
 * docs/python-producer.md tells Python services how to compute job ids. A Python producer with a
 * wrong key would enqueue duplicates that ship twice, so the doc's own functions are run here and
 * compared with the service's `idempotencyKey`.
 */
const doc = readFileSync(new URL('../../docs/python-producer.md', import.meta.url), 'utf8');
const python = spawnSync('python3', ['--version']).status === 0;
if (!python) console.warn('python-producer doc test skipped: no python3 on PATH');

/** The key helpers of the doc's example: from the regex to just before JOB_OPTIONS. */
function keyHelpers(): string {
  const block = /```python\n([\s\S]*?)```/.exec(doc)?.[1] ?? '';
  const start = block.indexOf('_KEY_SAFE = ');
  const end = block.indexOf('# What the service');
  if (start < 0 || end < 0)
    throw new Error('the key helpers are not where this test expects them in the doc');
  return `import json, re, sys\n${block.slice(start, end)}`;
}

const vvtool: JobData<'vvtool.send'>[] = [
  {
    account: 'shop-a',
    tid: '4012345678901234567',
    shop_id: '88',
    out_sid: 'YT9876543210',
    company_code: 'YTO',
  },
  {
    account: 'shop_b-2',
    tid: '1',
    shop_id: 's',
    out_sid: 'AB-12345',
    company_code: 'POST',
    sub_tid: '30,4,100000000000000000001,007,7',
    is_split: 1,
  },
  {
    account: 'shop-c',
    tid: '00123',
    shop_id: 's',
    out_sid: 'AB-12345',
    company_code: 'POST',
    sub_tid: '5,005,0,00',
    is_split: 1,
  },
  {
    account: 'shop-c',
    tid: '0',
    shop_id: 's',
    out_sid: 'AB-12345',
    company_code: 'POST',
    sub_tid: '5,6',
    is_split: 0,
  },
];
const damaijia: JobData<'damaijia.delivery'>[] = [
  { account: 'dmj-1', seller_nick: 'n', order_no: 'SO-1', wp_code: 'ZTO', waybill_no: 'ZT123456789' },
  {
    account: 'dmj-1',
    seller_nick: 'n',
    order_no: 'SO 2024/05.1:~x',
    wp_code: 'ZTO',
    waybill_no: 'ZT123456789',
  },
  { account: 'dmj-1', seller_nick: 'n', order_no: '订单№7 😀', wp_code: 'ZTO', waybill_no: 'ZT123456789' },
];

describe.skipIf(!python)('docs/python-producer.md', () => {
  it('computes the same job ids as the service', () => {
    const script = `${keyHelpers()}
cases = json.load(sys.stdin)
print(json.dumps([vvtool_send_id(d) for d in cases["vvtool"]] + [damaijia_delivery_id(d) for d in cases["damaijia"]]))
`;
    const run = spawnSync('python3', ['-c', script], {
      input: JSON.stringify({ vvtool, damaijia }),
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    const expected = [
      ...vvtool.map((data) => idempotencyKey('vvtool.send', data)),
      ...damaijia.map((data) => idempotencyKey('damaijia.delivery', data)),
    ];
    expect(JSON.parse(run.stdout)).toEqual(expected);
  });

  it('uses the queue names, prefix and job names the workers read', () => {
    expect(doc).toContain(`Queue("ship", {"connection": connection, "prefix": "fulfillment"})`);
    expect(doc).toContain(`Queue("sync", {"connection": connection, "prefix": "fulfillment"})`);
    for (const name of ['vvtool.send', 'damaijia.delivery', 'damaijia.sync'])
      expect(doc).toContain(`add("${name}"`);
    expect(doc).toContain(`"backoff": {"type": "jitter"}`);
  });
});
