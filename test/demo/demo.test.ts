import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ACCOUNTS, demoPlan } from '../../demo/plan.js';
import { redisUrl } from '../helpers/redis.js';
import { spawnNodeProcess } from '../ops/node-process.js';

/** The whole demo takes ~15-35 s here; this bounds a hung run well inside the test's own timeout. */
const RUN_LIMIT_MS = 150_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node --import tsx demo/main.ts`, as `npm run demo` runs it, against the test Redis. */
async function runDemo(args: string[] = []): Promise<Run> {
  const child = spawnNodeProcess(['--import', 'tsx', 'demo/main.ts', ...args], { REDIS_URL: redisUrl() });
  const timer = setTimeout(() => child.process.kill('SIGKILL'), RUN_LIMIT_MS);
  const code = await child.exited();
  clearTimeout(timer);
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}

describe('npm run demo', () => {
  let run: Run;
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
    run = await runDemo();
  }, RUN_LIMIT_MS + 10_000);

  afterAll(() => {
    redis.disconnect();
  });

  const line = (pattern: RegExp) => {
    const match = pattern.exec(run.stdout);
    if (!match)
      throw new Error(`no line matching ${pattern} in the demo's output:\n${run.stdout}\n${run.stderr}`);
    return match;
  };

  it('exits 0, reconciled: ledger and sandbox agree, no account over its rate, every step done', () => {
    expect(run.stderr, run.stdout).toBe('');
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toMatch(
      /^Reconciled: the ledger matches the sandbox's charges on every account, no account above 10 calls/m,
    );
  });

  it('ends every job as planned: none lost, the planned already-shipped, synced and dead counts', () => {
    const plan = demoPlan();
    const expected = (end: string) => plan.jobs.filter((p) => p.expect === end).length;
    const [, sent, done, shipped, already, synced] = line(
      /^ {2}jobs +(\d+) sent[^\n]*\n {2}done +(\d+) \((\d+) shipped, (\d+) already shipped, (\d+) synced\)$/m,
    ).map(Number);
    // The main traffic plus the clash delivery (redriven to completion) and nothing else.
    expect(sent).toBe(plan.jobs.length + 1);
    // A shipment whose answer was lost (a timeout on a loaded machine) finds it shipped on retry.
    expect(already).toBeGreaterThanOrEqual(expected('already_shipped'));
    expect(shipped! + already!).toBe(expected('shipped') + 1 + expected('already_shipped'));
    expect(synced).toBe(expected('synced'));
    expect(done).toBe(sent! - expected('dead'));
    expect(Number(line(/^ {2}dead +(\d+)$/m)[1])).toBe(expected('dead'));
    expect(line(/^ {2}dead +1\n +(\S+): /m)[1]).toMatch(/^vvtool\.vv-1\./);
  });

  it('shows progress while it runs (periodic lines, not a TTY)', () => {
    expect(run.stdout).toMatch(/^\[ *[\d.]+ s\] sent \d+ · done \d+ · waiting \d+/m);
    expect(run.stdout).toMatch(/^\[ *[\d.]+ s\] account dmj-2 is held: insufficient balance \(209\)/m);
    expect(run.stdout).toMatch(/POST \/v1\/accounts\/dmj-2\/resume → active/);
    expect(run.stdout).toMatch(
      /POST \/v1\/dead-letter\/redrive with patch \{"waybill_no":"ZT\d+"\} → redriven 1/,
    );
    expect(run.stdout).toMatch(/"duplicate":true/);
  });

  it('prints done / retried / dead / held counts', () => {
    const sent = Number(line(/^ {2}jobs +(\d+) sent/m)[1]);
    const done = Number(line(/^ {2}done +(\d+) \(/m)[1]);
    const dead = Number(line(/^ {2}dead +(\d+)$/m)[1]);
    expect(done + dead).toBe(sent);
    expect(dead).toBe(1);
    expect(sent).toBeGreaterThanOrEqual(200);
    expect(Number(line(/^ {2}retried +(\d+) jobs, (\d+) retry answers/m)[1])).toBeGreaterThan(0);
    line(/^ {2}held +1 account: dmj-2 for [\d.]+ s \(insufficient balance \(209\)/m);
    line(/^ {2}redriven +damaijia\.dmj-1\.\S+ with waybill_no=ZT\d+: now completed$/m);
    line(/^ {2}duplicate +POST \/v1\/ship .* state completed, duplicate: true$/m);
  });

  it('prints coupons by account from the ledger, reconciled with what the sandbox charged', () => {
    for (const account of DEMO_ACCOUNTS) {
      const [ledger, unknown, charged] = line(
        new RegExp(`^ {2}${account.id} +${account.provider} +(\\d+) +(\\d+) +(\\d+) +match$`, 'm'),
      )
        .slice(1)
        .map(Number);
      // The sandbox charged every coupon the ledger knows, and at most one per unknown entry besides.
      expect(charged).toBeGreaterThanOrEqual(ledger!);
      expect(charged).toBeLessThanOrEqual(ledger! + unknown!);
      expect(ledger).toBeGreaterThan(0);
    }
  });

  it('prints calls per second and the busiest sliding second per account, never above 10', () => {
    for (const account of DEMO_ACCOUNTS) {
      const [, calls, , perSecond, max] = line(
        new RegExp(`^ {2}${account.id} +(\\d+) +([\\d.]+) +([\\d.]+) +(\\d+)$`, 'm'),
      );
      expect(Number(calls)).toBeGreaterThan(0);
      expect(Number(perSecond)).toBeGreaterThan(0);
      expect(Number(max)).toBeGreaterThan(0);
      expect(Number(max)).toBeLessThanOrEqual(10);
    }
  });

  it('says where to open Bull Board, with the user, and prints the password once at the start', () => {
    const [, url] = line(/^Bull Board: (http:\/\/127\.0\.0\.1:\d+\/admin\/queues) \(user admin/m);
    const [, startUrl, password] = line(/^ {2}Bull Board (\S+) +user admin +password (\S+)$/m);
    expect(startUrl).toBe(url);
    expect(run.stdout.split(password!).length - 1).toBe(1);
  });

  it('never prints an upstream token', () => {
    expect(run.stdout + run.stderr).not.toMatch(/sandbox-[0-9a-f]{32}/);
  });

  it('stops everything and cleans up: no keys under its prefix, no log file, nothing listening', async () => {
    const [, prefix] = line(/Redis prefix (demo-[0-9a-f]+)/);
    const [, keys] = await redis.scan('0', 'MATCH', `${prefix}:*`, 'COUNT', 10_000);
    expect(keys).toEqual([]);
    line(new RegExp(`^Deleted the demo's \\d+ keys under prefix ${prefix}\\.$`, 'm'));
    const [, logPath] = line(/^ {2}logs +(\S+)/m);
    expect(existsSync(logPath!)).toBe(false);
    const [, serviceUrl] = line(/^ {2}service +(http:\/\/127\.0\.0\.1:\d+)/m);
    const [, sandboxUrl] = line(/^ {2}sandbox +(http:\/\/127\.0\.0\.1:\d+)/m);
    for (const url of [serviceUrl!, sandboxUrl!]) {
      await expect(fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
    }
  });

  it('keeps the records in an embedded PostgreSQL of its own, removed at the end', () => {
    const [, dir] = line(/^ {2}records +PostgreSQL, embedded, in (\S+) \(removed at the end\)$/m);
    expect(existsSync(dir!)).toBe(false);
  });
});

describe('npm run demo -- bad options', () => {
  it('refuses an unknown option with exit 2 and starts nothing', async () => {
    const bad = await runDemo(['--frobnicate']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('demo: unknown option --frobnicate (see --help)\n');
    expect(bad.stdout).toBe('');
  });
});
