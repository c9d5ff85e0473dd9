import { describe, expect, it } from 'vitest';
import { DEMO_ACCOUNTS, demoPlan, FAULTS, type PlannedJob } from '../../demo/plan.js';
import { accountLookup, MAX_BATCH_JOBS, validateBatch } from '../../src/jobs/index.js';

const plan = demoPlan();
const lookup = accountLookup(DEMO_ACCOUNTS);
/** A job's field by name (the plan's jobs are typed per provider). */
const field = (p: PlannedJob, name: string) => (p.job as unknown as Record<string, string | undefined>)[name];

describe('demo plan', () => {
  it('is a few hundred jobs the service accepts as they are (validated with the real rules)', () => {
    expect(plan.jobs.length).toBe(290);
    const batches = [];
    for (let from = 0; from < plan.jobs.length; from += MAX_BATCH_JOBS) {
      batches.push(plan.jobs.slice(from, from + MAX_BATCH_JOBS).map((p) => p.job));
    }
    for (const jobs of [...batches, [plan.clash.job.job]]) {
      const result = validateBatch({ jobs }, lookup);
      expect(result.ok, JSON.stringify(result)).toBe(true);
    }
  });

  it('mixes both providers and syncs, interleaved by account from the first jobs on', () => {
    const names = new Set(plan.jobs.map((p) => p.operation));
    expect(names).toEqual(new Set(['vvtool.send', 'damaijia.delivery', 'damaijia.sync']));
    expect(plan.jobs.slice(0, DEMO_ACCOUNTS.length).map((p) => p.job.account)).toEqual(
      DEMO_ACCOUNTS.map((a) => a.id),
    );
  });

  it('has no two shipments with one order or one waybill, and no repeated idempotency key', () => {
    const ships = plan.jobs.filter((p) => p.job.type === 'ship');
    const orders = ships.map((p) => `${p.provider}/${p.orderKey}`);
    expect(new Set(orders).size).toBe(orders.length);
    const waybills = ships.map((p) => field(p, 'out_sid') ?? field(p, 'waybill_no'));
    expect(new Set(waybills).size).toBe(waybills.length);
    const result = validateBatch({ jobs: plan.jobs.map((p) => p.job) }, lookup);
    if (!result.ok) throw new Error('plan does not validate');
    const keys = result.jobs.map((j) => j.id).filter((id) => id !== null);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('scripts each fault on as many orders as it says, each order once, on a job of its kind', () => {
    const byKey = new Map(plan.jobs.map((p) => [`${p.provider}/${p.orderKey}`, p]));
    const scripted = plan.scripts.map((s) => `${s.provider}/${s.orderKey}`);
    expect(new Set(scripted).size).toBe(scripted.length);
    for (const script of plan.scripts) {
      const job = byKey.get(`${script.provider}/${script.orderKey}`);
      expect(job?.fault, script.orderKey).not.toBeNull();
    }
    for (const spec of FAULTS) {
      const jobs = plan.jobs.filter((p) => p.fault === spec.label && p.operation === spec.operation);
      expect(jobs.length, spec.label).toBe(spec.count);
    }
    // Two specials beside the catalogue: the job that stays dead and the already-shipped order.
    expect(plan.scripts.length).toBe(FAULTS.reduce((n, spec) => n + spec.count, 0) + 2);
  });

  it('expects exactly one dead job, and the already-shipped results where the upstream will say so', () => {
    const dead = plan.jobs.filter((p) => p.expect === 'dead');
    expect(dead.map((p) => p.operation)).toEqual(['vvtool.send']);
    const already = plan.jobs.filter((p) => p.expect === 'already_shipped');
    expect(already.map((p) => p.provider)).toEqual(['vvtool', 'vvtool']);
  });

  it('runs the held account out of coupons part way: more jobs than its balance', () => {
    const account = DEMO_ACCOUNTS.find((a) => a.id === plan.held.account)!;
    expect(account.provider).toBe('damaijia');
    const jobs = plan.jobs.filter((p) => p.job.account === account.id).length;
    expect(jobs).toBeGreaterThan(plan.held.balance * 2);
    expect(plan.held.topUp).toBeGreaterThan(jobs);
  });

  it('makes the clash delivery reuse a waybill that a plain, earlier job ships, and corrects it with a fresh one', () => {
    const owner = plan.jobs[plan.clash.owner]!;
    expect(owner.fault).toBeNull();
    expect(owner.job.account).toBe(plan.clash.job.job.account);
    expect(field(plan.clash.job, 'waybill_no')).toBe(field(owner, 'waybill_no'));
    expect(plan.clash.job.orderKey).not.toBe(owner.orderKey);
    const used = new Set(plan.jobs.map((p) => field(p, 'waybill_no')));
    expect(used.has(plan.clash.patch['waybill_no'])).toBe(false);
    const patched = validateBatch({ jobs: [{ ...plan.clash.job.job, ...plan.clash.patch }] }, lookup);
    expect(patched.ok).toBe(true);
  });

  it('sends a plain, completed-to-be shipment again for the duplicate', () => {
    const original = plan.jobs[plan.duplicate]!;
    expect(original.fault).toBeNull();
    expect(original.job.type).toBe('ship');
    expect(original.expect).toBe('shipped');
  });

  it('is the same on every call (deterministic)', () => {
    expect(demoPlan()).toEqual(plan);
  });
});
