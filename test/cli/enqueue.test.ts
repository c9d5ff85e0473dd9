import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ValidationError } from '../../src/jobs/index.js';
import type { Fulfillment } from '../../src/queues/service.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';
import { cli, cliEnv, fieldFlags, testService, vvShip } from './cli.js';

let t: TestRedis;
let env: Record<string, string>;
let service: Fulfillment;
let dir: string;

beforeAll(async () => {
  t = await testRedis('cli-enqueue');
  env = cliEnv(t);
  service = testService(t);
  dir = await mkdtemp(join(tmpdir(), 'fulfill-cli-'));
});
afterAll(async () => {
  await service.close();
  await t.cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function queued(): Promise<number> {
  const ship = await service.queues.ship.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
  const sync = await service.queues.sync.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
  return [...Object.values(ship), ...Object.values(sync)].reduce((a, b) => a + b, 0);
}

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('fulfill enqueue from flags', () => {
  // Past 2^53: must arrive as the same digits, never through a JS number.
  const tid = '12345678901234567890';

  it('enqueues a ship job under its idempotency key, ids kept exact', async () => {
    const run = await cli(['enqueue', 'ship', ...fieldFlags(vvShip(tid, 'YT0000001'))], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const id = `vvtool.vv1.${tid}.all.YT0000001`;
    expect(run.stdout).toBe(`enqueued ${id} (waiting)\n`);
    const job = await service.queues.ship.getJob(id);
    expect(job?.name).toBe('vvtool.send');
    expect(job?.data).toEqual({
      account: 'vv1',
      tid,
      shop_id: 'shop-1',
      out_sid: 'YT0000001',
      company_code: 'YTO',
    });
  });

  it('says duplicate when the shipment is there already, and changes nothing', async () => {
    const before = await queued();
    const human = await cli(['enqueue', 'ship', ...fieldFlags(vvShip(tid, 'YT0000001'))], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(
      /^duplicate: job vvtool\.vv1\.12345678901234567890\.all\.YT0000001 exists already/,
    );
    const json = await cli(['enqueue', 'ship', ...fieldFlags(vvShip(tid, 'YT0000001')), '--json'], env);
    expect(json.code).toBe(0);
    expect(json.json()).toEqual({ id: `vvtool.vv1.${tid}.all.YT0000001`, state: 'waiting', duplicate: true });
    expect(await queued()).toBe(before);
  });

  it('reads is_split and vvtype as numbers, everything else as strings', async () => {
    const run = await cli(
      [
        'enqueue',
        'ship',
        ...fieldFlags(vvShip('555', 'YT0000002')),
        '--field',
        'sub_tid=9,8',
        '--field',
        'is_split=1',
        '--field',
        'vvtype=2',
        '--field',
        'sender_id=0077',
        '--json',
      ],
      env,
    );
    expect(run.code).toBe(0);
    const { id } = run.json<{ id: string }>();
    expect(id).toBe('vvtool.vv1.555.8,9.YT0000002');
    const job = await service.queues.ship.getJob(id);
    expect(job?.data).toMatchObject({ sub_tid: '9,8', is_split: 1, vvtype: 2, sender_id: '0077' });
  });

  it('takes a sync job from --data, with --field winning over it', async () => {
    const run = await cli(
      [
        'enqueue',
        'sync',
        '--account',
        'dm1',
        '--data',
        '{"orderSns":"A-1","ownerId":"o-1"}',
        '--field',
        'ownerId=o-2',
        '--json',
      ],
      env,
    );
    expect(run.code).toBe(0);
    const result = run.json<{ id: string; state: string; duplicate: boolean }>();
    expect(result.state).toBe('waiting');
    expect(result.duplicate).toBe(false);
    const job = await service.queues.sync.getJob(result.id);
    expect(job?.name).toBe('damaijia.sync');
    expect(job?.data).toEqual({ account: 'dm1', orderSns: 'A-1', ownerId: 'o-2' });
  });

  it('refuses a bad job with every issue, the same as the API, and enqueues nothing', async () => {
    const before = await queued();
    const body = { account: 'vv1', tid: '12a', out_sid: 'x', company_code: 'YTO', is_split: 1 };
    const run = await cli(['enqueue', 'ship', '--data', JSON.stringify(body), '--json'], env);
    expect(run.code).toBe(1);
    const expected = await service.producer.ship(body).then(
      () => expect.unreachable('the producer accepted a bad job'),
      (err: ValidationError) => err.issues,
    );
    const answer = run.json<{ error: string; issues: { path: string; message: string }[] }>();
    expect(answer.issues).toEqual(expected);
    expect(answer.issues.map((i) => i.path).sort()).toEqual(['is_split', 'out_sid', 'shop_id', 'tid']);
    for (const issue of expected) expect(run.stderr).toContain(`\n${issue.path}: ${issue.message}\n`);
    expect(await queued()).toBe(before);
  });

  it('names an account that is not configured', async () => {
    const run = await cli(['enqueue', 'ship', ...fieldFlags(vvShip('1', 'YT0000003', 'nope'))], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('account: account "nope" is not configured');
  });

  it('refuses malformed flags as usage errors (exit 2) before touching Redis', async () => {
    const offline = { ...env, REDIS_URL: 'redis://127.0.0.1:1' };
    const cases: [string[], RegExp][] = [
      [['enqueue'], /say ship or sync/],
      [['enqueue', 'parcel'], /must be one of ship, sync/],
      [['enqueue', 'ship', '--field', 'tid'], /--field takes key=value/],
      [['enqueue', 'ship', '--field', 'tid=1', '--field', 'tid=2'], /given twice/],
      [['enqueue', 'ship', '--data', '[1]'], /--data must be a JSON object/],
      [['enqueue', 'ship', '--data', '{'], /--data is not valid JSON/],
      [['enqueue', '--file', 'x.ndjson', '--account', 'vv1'], /cannot be combined with --file/],
      [['enqueue', 'ship', '--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [argv, message] of cases) {
      const run = await cli(argv, offline);
      expect(run.code, argv.join(' ')).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toContain('--help" for usage');
    }
  });
});

describe('fulfill enqueue --file', () => {
  const line = (o: Record<string, unknown>) => JSON.stringify(o);

  it('refuses a file with a bad line, naming the line, and enqueues none of it', async () => {
    const before = await queued();
    const path = await file(
      'bad.ndjson',
      [
        line({ type: 'ship', ...vvShip('100', 'YT1000001') }),
        '',
        line({ type: 'ship', ...vvShip('101', 'YT1000002'), company_code: 'Y' }),
        '{"type":"ship",',
        line({ type: 'sync', account: 'dm1', orderSns: 'S1', ownerId: 'o' }),
        line({ account: 'vv1' }),
      ].join('\n'),
    );
    const run = await cli(['enqueue', '--file', path], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('3 of 5 lines');
    expect(run.stderr).toContain('nothing was enqueued');
    expect(run.stderr).toMatch(/\nline 3: company_code: must be a carrier code/);
    expect(run.stderr).toMatch(/\nline 4: is not valid JSON/);
    expect(run.stderr).toContain('\nline 6: type: is required\n');
    expect(run.stderr).not.toMatch(/line [125]:/);
    expect(await queued()).toBe(before);
    expect(await service.queues.ship.getJob('vvtool.vv1.100.all.YT1000001')).toBeUndefined();

    const json = await cli(['enqueue', '--file', path, '--json'], env);
    expect(json.code).toBe(1);
    const issues = json.json<{ issues: { line: number; path: string }[] }>().issues;
    expect(issues.map((i) => [i.line, i.path])).toEqual([
      [3, 'company_code'],
      [4, '$'],
      [6, 'type'],
    ]);
  });

  it('names the index of a bad item in a JSON array', async () => {
    const path = await file(
      'bad.json',
      JSON.stringify([
        { type: 'ship', ...vvShip('200', 'YT2000001') },
        { type: 'ship', ...vvShip('x', 'YT2000002') },
      ]),
    );
    const run = await cli(['enqueue', '--file', path], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/\nindex 1: tid: must be a string of 1-20 digits/);
    expect(await service.queues.ship.getJob('vvtool.vv1.200.all.YT2000001')).toBeUndefined();
  });

  it('sends a large file in batches with plain progress lines, then reports repeats as duplicates with a bar', async () => {
    const jobs = Array.from({ length: 1_500 }, (_, i) =>
      i % 3 === 2
        ? line({
            type: 'ship',
            account: 'dm1',
            seller_nick: 'nick',
            order_no: `O${i}`,
            wp_code: 'ZTO',
            waybill_no: `WB${100000 + i}`,
          })
        : line({ type: 'ship', ...vvShip(String(300_000 + i), `YT${3_000_000 + i}`) }),
    );
    const path = await file('many.ndjson', `${jobs.join('\n')}\n`);
    const first = await cli(['enqueue', '--file', path, '--json'], env);
    expect(first.stderr).toBe('enqueue: 1000/1500\nenqueue: 1500/1500\n');
    expect(first.code).toBe(0);
    const answer = first.json<{
      total: number;
      enqueued: number;
      duplicates: number;
      jobs: { id: string }[];
    }>();
    expect(answer).toMatchObject({ total: 1_500, enqueued: 1_500, duplicates: 0 });
    expect(answer.jobs[0]!.id).toBe('vvtool.vv1.300000.all.YT3000000');
    expect(answer.jobs[2]!.id).toBe('damaijia.dm1.O2.WB100002');
    expect(await service.queues.ship.getJob('damaijia.dm1.O1499.WB101499')).toBeDefined();

    const again = await cli(['enqueue', '--file', path], env, { stderrTTY: true });
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('1500 jobs: 0 enqueued, 1500 duplicate\n');
    expect(again.stderr).toContain('\renqueue [####################----------] 1000/1500 (66%)');
    expect(again.stderr.endsWith(`\renqueue [${'#'.repeat(30)}] 1500/1500 (100%)\u001b[K\n`)).toBe(true);
  });

  it('gives items without "type" the type named on the command line', async () => {
    const path = await file('sync.ndjson', line({ account: 'dm1', orderSns: 'S-9', ownerId: 'o' }));
    const run = await cli(['enqueue', 'sync', '--file', path, '--json'], env);
    expect(run.code).toBe(0);
    const [job] = run.json<{ jobs: { id: string }[] }>().jobs;
    expect((await service.queues.sync.getJob(job!.id))?.data).toEqual({
      account: 'dm1',
      orderSns: 'S-9',
      ownerId: 'o',
    });
  });

  it('says so when the file is missing or empty', async () => {
    const missing = await cli(['enqueue', '--file', join(dir, 'nope.ndjson')], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read');
    const empty = await cli(['enqueue', '--file', await file('empty.ndjson', '\n\n')], env);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('holds no jobs');
  });
});
