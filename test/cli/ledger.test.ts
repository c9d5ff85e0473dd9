import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallContext, LedgerEntry, Summary } from '../../src/ledger/index.js';
import type { Fulfillment } from '../../src/queues/service.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';
import { cli, cliEnv, testService } from './cli.js';

let t: TestRedis;
let env: Record<string, string>;
let service: Fulfillment;
let dir: string;

const vv = (order: string, shop: string): CallContext => ({
  account: 'vv1',
  provider: 'vvtool',
  operation: 'vvtool.send',
  shop,
  order,
  jobId: `vvtool.vv1.${order}.all.YT${order}00`,
  attempt: 1,
});
const dm = (order: string): CallContext => ({
  account: 'dm1',
  provider: 'damaijia',
  operation: 'damaijia.delivery',
  shop: 'nick',
  order,
  jobId: `damaijia.dm1.${order}.WB${order}`,
  attempt: 1,
});

beforeAll(async () => {
  t = await testRedis('cli-ledger');
  env = cliEnv(t);
  service = testService(t);
  dir = await mkdtemp(join(tmpdir(), 'fulfill-cli-'));
  const { ledger } = service;
  await ledger.settle(vv('100', 'shop-1'), { amount: 0.3 }, Date.parse('2024-05-01T10:00:00Z'));
  await ledger.settle(vv('101', 'shop-2'), { amount: 0.2 }, Date.parse('2024-05-02T10:00:00Z'));
  await ledger.settle(dm('200'), { amount: 1.5 }, Date.parse('2024-05-02T12:00:00Z'));
  await ledger.settle(dm('201'), { unknown: true }, Date.parse('2024-05-03T00:00:00Z'));
  // Charged nothing: no entry.
  await ledger.settle(vv('102', 'shop-1'), { amount: 0 }, Date.parse('2024-05-03T01:00:00Z'));
});
afterAll(async () => {
  await service.close();
  await t.cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function csvOf(range: { from?: number; to?: number } = {}): Promise<string> {
  let text = '';
  for await (const line of service.ledger.csv(range)) text += line;
  return text;
}

describe('fulfill ledger summary', () => {
  it('totals everything, exactly, as a table and as JSON', async () => {
    const human = await cli(['ledger', 'summary'], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toBe('KEY  TOTAL  CALLS  UNKNOWN\nall      2      4        1\n');
    const json = await cli(['ledger', 'summary', '--json'], env);
    expect(json.json<Summary>()).toEqual({ total: 2, calls: 4, unknown: 1, groups: [] });
  });

  it('groups by account, shop, operation or day', async () => {
    const byAccount = (
      await cli(['ledger', 'summary', '--group-by', 'account', '--json'], env)
    ).json<Summary>();
    expect(byAccount.groups).toEqual([
      { key: 'dm1', total: 1.5, calls: 2, unknown: 1 },
      { key: 'vv1', total: 0.5, calls: 2, unknown: 0 },
    ]);
    const byDay = await cli(['ledger', 'summary', '--group-by', 'day'], env);
    expect(byDay.stdout.split('\n').slice(1, 4)).toEqual([
      '2024-05-01    0.3      1        0',
      '2024-05-02    1.7      2        0',
      '2024-05-03      0      1        1',
    ]);
    const byShop = (await cli(['ledger', 'summary', '--group-by', 'shop', '--json'], env)).json<Summary>();
    expect(byShop.groups.map((g) => g.key)).toEqual(['nick', 'shop-1', 'shop-2']);
  });

  it('takes --from (inclusive) and --to (exclusive) as ISO 8601 or epoch ms', async () => {
    const iso = await cli(
      ['ledger', 'summary', '--from', '2024-05-02', '--to', '2024-05-03T00:00:00Z', '--json'],
      env,
    );
    expect(iso.json<Summary>()).toMatchObject({ total: 1.7, calls: 2, unknown: 0 });
    const from = String(Date.parse('2024-05-02T00:00:00Z'));
    const to = String(Date.parse('2024-05-03T00:00:00Z') + 1);
    const ms = await cli(['ledger', 'summary', '--from', from, '--to', to, '--json'], env);
    expect(ms.json<Summary>()).toMatchObject({ total: 1.7, calls: 3, unknown: 1 });
    const offset = await cli(['ledger', 'summary', '--from', '2024-05-02T18:00:00.001+08:00', '--json'], env);
    expect(offset.json<Summary>()).toMatchObject({ total: 1.5, calls: 2 });
    // Without an offset a time is UTC, as the HTTP API reads it: one rule for both.
    const zoneless = await cli(['ledger', 'summary', '--from', '2024-05-02T10:00:00.001', '--json'], env);
    expect(zoneless.json<Summary>()).toEqual(offset.json<Summary>());
  });

  it('refuses bad times and groups as usage errors', async () => {
    for (const [argv, message] of [
      [['--from', 'yesterday'], /--from: give an ISO 8601 time/],
      [['--from', '2024-02-30'], /--from: give an ISO 8601 time .* got "2024-02-30"/],
      [['--from', '2024-05-03', '--to', '2024-05-02'], /--to is before --from/],
      [['--group-by', 'week'], /--group-by must be one of account, shop, operation, day/],
    ] as const) {
      const run = await cli(['ledger', 'summary', ...argv], env);
      expect(run.code, argv.join(' ')).toBe(2);
      expect(run.stderr).toMatch(message);
    }
  });
});

describe('fulfill ledger export', () => {
  it('writes the CSV to stdout', async () => {
    const run = await cli(['ledger', 'export'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(await csvOf());
    expect(run.stdout.split('\r\n')).toHaveLength(6); // header, 4 entries, and the empty rest
    expect(run.stdout).toContain(
      ',dm1,damaijia,damaijia.delivery,nick,201,damaijia.dm1.201.WB201,1,,unknown\r\n',
    );
    const range = await cli(['ledger', 'export', '--from', '2024-05-02', '--to', '2024-05-03'], env);
    expect(range.stdout).toBe(await csvOf({ from: Date.parse('2024-05-02'), to: Date.parse('2024-05-03') }));
    expect(range.stdout.split('\r\n')).toHaveLength(4);
  });

  it('writes the CSV to a file with --out, leaving no partial file behind', async () => {
    const out = join(dir, 'ledger.csv');
    const run = await cli(['ledger', 'export', '--out', out], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`wrote 4 entries to ${out}\n`);
    expect(await readFile(out, 'utf8')).toBe(await csvOf());
    expect(await readdir(dir)).toEqual(['ledger.csv']);
    const json = await cli(['ledger', 'export', '--out', out, '--json'], env);
    expect(json.json()).toEqual({ out, entries: 4 });

    const nowhere = await cli(['ledger', 'export', '--out', join(dir, 'missing-dir', 'x.csv')], env);
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toMatch(/cannot write .*x\.csv \(ENOENT\)/);
  });

  it('gives the entries as a JSON array with --json', async () => {
    const run = await cli(['ledger', 'export', '--json'], env);
    expect(run.code).toBe(0);
    const entries = run.json<LedgerEntry[]>();
    expect(entries).toEqual((await service.ledger.entries({})).items);
    expect(entries).toHaveLength(4);
    const empty = await cli(['ledger', 'export', '--from', '2030-01-01', '--json'], env);
    expect(empty.json()).toEqual([]);
  });
});
