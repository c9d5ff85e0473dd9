/**
 * The demo's accounts and traffic, as data: which jobs go in, which answers the sandbox is scripted to
 * give for which orders, and what each job should end as. Pure and deterministic: the same plan on
 * every run, so the summary's numbers can be compared between runs.
 */
import type { SandboxProvider, ScriptedAnswer } from '../src/sandbox/index.js';
import { FAULTS, type FaultSpec, SPECIALS } from './faults.js';

export type DemoProvider = SandboxProvider;

export interface DemoAccount {
  readonly id: string;
  readonly provider: DemoProvider;
  readonly ratePerSecond: number;
}

/** Three vv-tool accounts and two damaijia ones, at the vv-tool document's 10 calls per second. */
export const DEMO_ACCOUNTS: readonly DemoAccount[] = [
  { id: 'vv-1', provider: 'vvtool', ratePerSecond: 10 },
  { id: 'vv-2', provider: 'vvtool', ratePerSecond: 10 },
  { id: 'vv-3', provider: 'vvtool', ratePerSecond: 10 },
  { id: 'dmj-1', provider: 'damaijia', ratePerSecond: 10 },
  { id: 'dmj-2', provider: 'damaijia', ratePerSecond: 10 },
];

/** A POST /v1/batch item. */
export type BatchJob = { readonly type: 'ship' | 'sync'; readonly account: string } & Readonly<
  Record<string, string>
>;

/** What a job should end as: completed with this result, or dead. */
export type Expected = 'shipped' | 'already_shipped' | 'synced' | 'dead';

export interface PlannedJob {
  readonly job: BatchJob;
  readonly provider: DemoProvider;
  readonly operation: 'vvtool.send' | 'damaijia.delivery' | 'damaijia.sync';
  /** tid / order_no / orderSns: how the sandbox names the order. */
  readonly orderKey: string;
  readonly expect: Expected;
  /** The scripted fault's label, or null for a plain job. */
  readonly fault: string | null;
}

export interface PlannedScript {
  readonly provider: DemoProvider;
  readonly orderKey: string;
  readonly answers: readonly ScriptedAnswer[];
}

export interface DemoPlan {
  readonly accounts: readonly DemoAccount[];
  /** The main traffic, accounts interleaved, in the order it is sent. */
  readonly jobs: readonly PlannedJob[];
  readonly scripts: readonly PlannedScript[];
  /** The account whose balance runs out mid-run (it is held), its starting and topped-up balance. */
  readonly held: { readonly account: string; readonly balance: number; readonly topUp: number };
  /**
   * A delivery sent once `owner` (an index into `jobs`) has shipped, reusing its waybill: it dies
   * (the waybill is taken) and is redriven with `patch`, a corrected waybill.
   */
  readonly clash: {
    readonly owner: number;
    readonly job: PlannedJob;
    readonly patch: Record<string, string>;
  };
  /** Index into `jobs` of the shipment sent a second time once it is done (answered duplicate: true). */
  readonly duplicate: number;
  /** Index into `jobs` of the job that is expected to stay dead. */
  readonly deadForever: number;
}

export interface PlanSize {
  /** Ship jobs per account (vv-tool and damaijia). */
  readonly shipsPerAccount: number;
  /** Sync jobs per damaijia account. */
  readonly syncsPerAccount: number;
}

export const DEFAULT_SIZE: PlanSize = { shipsPerAccount: 50, syncsPerAccount: 20 };

/** The held account starts with this many coupons: it runs out about a third of the way through. */
const HELD_BALANCE = 30;
const TOP_UP = 100_000;

export function demoPlan(size: PlanSize = DEFAULT_SIZE): DemoPlan {
  if (size.shipsPerAccount < 8 || size.syncsPerAccount < 4) {
    throw new RangeError('the demo plan needs at least 8 ships and 4 syncs per account for its faults');
  }
  const perAccount = DEMO_ACCOUNTS.map((account, a) => plainJobs(account, a, size));
  const scripts: PlannedScript[] = [];
  const taken = new Set<PlannedJob>();
  const assign = (job: PlannedJob, spec: FaultSpec): PlannedJob => {
    scripts.push({ provider: job.provider, orderKey: job.orderKey, answers: spec.answers });
    const expect = spec.expect === 'same' ? job.expect : spec.expect(job.provider);
    return { ...job, fault: spec.label, expect };
  };
  const replace = (old: PlannedJob, next: PlannedJob) => {
    for (const list of perAccount) {
      const index = list.indexOf(old);
      if (index >= 0) list[index] = next;
    }
    taken.add(next);
  };

  // Keep the first ship job of each account plain: they serve as the clash owner and the duplicate.
  for (const list of perAccount) taken.add(list[0]!);
  const vv1 = perAccount[0]!;
  const vv2 = perAccount[1]!;
  const dead = assign(vv1[vv1.length - 1]!, SPECIALS.deadForever);
  replace(vv1[vv1.length - 1]!, dead);
  const already = assign(vv2[vv2.length - 1]!, SPECIALS.alreadyShipped);
  replace(vv2[vv2.length - 1]!, already);

  for (const spec of FAULTS) {
    const candidates = perAccount
      .filter((_, a) => DEMO_ACCOUNTS[a]!.provider === spec.provider)
      .map((list) => list.filter((job) => job.operation === spec.operation && !taken.has(job)));
    for (let n = 0; n < spec.count; n++) {
      const list = candidates[n % candidates.length]!;
      const job = list.shift();
      if (job === undefined)
        throw new RangeError(`not enough ${spec.operation} jobs for the fault "${spec.label}"`);
      replace(job, assign(job, spec));
    }
  }

  const jobs = interleave(perAccount);
  const dmj1 = DEMO_ACCOUNTS.findIndex((account) => account.id === 'dmj-1');
  const owner = jobs.indexOf(perAccount[dmj1]![0]!);
  const ownerJob = jobs[owner]!.job;
  const clashOrder = orderNo(dmj1, 999);
  const clash: PlannedJob = {
    job: { ...ownerJob, order_no: clashOrder },
    provider: 'damaijia',
    operation: 'damaijia.delivery',
    orderKey: clashOrder,
    expect: 'shipped',
    fault: 'waybill already used by another order (217), redriven with a corrected waybill',
  };
  const vv3 = DEMO_ACCOUNTS.findIndex((account) => account.id === 'vv-3');
  return {
    accounts: DEMO_ACCOUNTS,
    jobs,
    scripts,
    held: { account: 'dmj-2', balance: HELD_BALANCE, topUp: TOP_UP },
    clash: { owner, job: clash, patch: { waybill_no: waybillNo(dmj1, 999) } },
    duplicate: jobs.indexOf(perAccount[vv3]![0]!),
    deadForever: jobs.indexOf(dead),
  };
}

function plainJobs(account: DemoAccount, a: number, size: PlanSize): PlannedJob[] {
  const jobs: PlannedJob[] = [];
  for (let i = 0; i < size.shipsPerAccount; i++) {
    if (account.provider === 'vvtool') {
      const tid = String(880_000_000_000 + a * 10_000 + i);
      jobs.push({
        job: {
          type: 'ship',
          account: account.id,
          tid,
          shop_id: `shop-${account.id}`,
          out_sid: `YT${tid}`,
          company_code: 'YTO',
        },
        provider: 'vvtool',
        operation: 'vvtool.send',
        orderKey: tid,
        expect: 'shipped',
        fault: null,
      });
    } else {
      const order = orderNo(a, i);
      jobs.push({
        job: {
          type: 'ship',
          account: account.id,
          seller_nick: `seller-${account.id}`,
          order_no: order,
          wp_code: 'ZTO',
          waybill_no: waybillNo(a, i),
        },
        provider: 'damaijia',
        operation: 'damaijia.delivery',
        orderKey: order,
        expect: 'shipped',
        fault: null,
      });
    }
  }
  if (account.provider === 'damaijia') {
    for (let i = 0; i < size.syncsPerAccount; i++) {
      const sn = `SN${600_000 + a * 10_000 + i}`;
      jobs.push({
        job: { type: 'sync', account: account.id, orderSns: sn, ownerId: `owner-${account.id}` },
        provider: 'damaijia',
        operation: 'damaijia.sync',
        orderKey: sn,
        expect: 'synced',
        fault: null,
      });
    }
  }
  return jobs;
}

function orderNo(a: number, i: number): string {
  return `DJ${700_000 + a * 10_000 + i}`;
}

function waybillNo(a: number, i: number): string {
  return `ZT${9_000_000_000 + a * 10_000 + i}`;
}

/** Round robin over the accounts, so every account has work from the first batch on. */
function interleave<T>(lists: readonly (readonly T[])[]): T[] {
  const out: T[] = [];
  const longest = Math.max(...lists.map((list) => list.length));
  for (let i = 0; i < longest; i++) {
    for (const list of lists) if (i < list.length) out.push(list[i]!);
  }
  return out;
}
