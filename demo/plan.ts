/**
 * The demo's accounts and traffic, as data: the jobs it sends, the answers the sandbox is scripted to
 * give some of their orders (each a fault an upstream or a network really produces), and what each job
 * should end as. Pure and deterministic: the same plan, and so the same summary, on every run.
 */
import type { BatchItem } from '../src/client/index.js';
import type { SandboxProvider, ScriptedAnswer } from '../src/sandbox/index.js';

export interface DemoAccount {
  readonly id: string;
  readonly provider: SandboxProvider;
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

type Operation = 'vvtool.send' | 'damaijia.delivery' | 'damaijia.sync';
/** What a job should end as: completed with this result, or dead. */
export type Expected = 'shipped' | 'already_shipped' | 'synced' | 'dead';

export interface PlannedJob {
  readonly job: BatchItem;
  readonly provider: SandboxProvider;
  readonly operation: Operation;
  /** tid / order_no / orderSns: how the sandbox names the order. */
  readonly orderKey: string;
  readonly expect: Expected;
  /** The scripted fault's label, or null for a plain job. */
  readonly fault: string | null;
}

export interface Fault {
  readonly label: string;
  readonly operation: Operation;
  /** The answers the sandbox gives the order's first calls, before processing it for real. */
  readonly answers: readonly ScriptedAnswer[];
  /** How many orders get it, spread over the accounts of its provider. */
  readonly count: number;
  /** What the job ends as; by default what it would have without the fault. */
  readonly expect?: Expected;
}

const fault = (
  label: string,
  operation: Operation,
  answers: ScriptedAnswer[],
  count: number,
  expect?: Expected,
) => ({ label, operation, answers, count, ...(expect ? { expect } : {}) }) satisfies Fault;

/** Transport faults: each makes the service retry, and the job ends as it would have. */
const transient = (operation: Operation, [http500, reset, garbage, http429]: number[]): Fault[] => [
  fault('HTTP 500', operation, [{ fault: 'http500' }], http500!),
  fault('connection reset before answering', operation, [{ fault: 'reset' }], reset!),
  fault('unreadable body (not JSON)', operation, [{ fault: 'garbage' }], garbage!),
  fault('HTTP 429', operation, [{ fault: 'http429' }], http429!),
];

const DROPPED = 'charged, then the connection dropped';

export const FAULTS: readonly Fault[] = [
  fault('vv-tool 101 twice (request timeout, retry)', 'vvtool.send', [{ code: 101 }, { code: 101 }], 9),
  fault('vv-tool 202 (system busy, retry later)', 'vvtool.send', [{ code: 202 }], 6),
  fault(
    'vv-tool 614 系统异常 (Taobao says wait and retry)',
    'vvtool.send',
    [{ code: 614, msg: '系统异常' }],
    3,
  ),
  ...transient('vvtool.send', [3, 3, 3, 3]),
  ...transient('damaijia.delivery', [4, 2, 2, 1]),
  ...transient('damaijia.sync', [2, 0, 1, 0]).filter((f) => f.count > 0),
  // Shipped and charged, then the connection drops: the ledger records a charge it cannot know, and
  // the retry finds the order shipped (vv-tool 614 "already shipped"; damaijia a free replay).
  fault(DROPPED, 'vvtool.send', [{ fault: 'reset', when: 'after' }], 1, 'already_shipped'),
  fault(DROPPED, 'damaijia.delivery', [{ fault: 'reset', when: 'after' }], 1),
];

/** One-off outcomes, on the last vv-tool job of vv-1 and vv-2 (vv-tool's 614 messages verbatim). */
export const DEAD_FOREVER = fault(
  'vv-tool 614 物流订单不存在 (no such logistics order: dead, for a person to look at)',
  'vvtool.send',
  [{ code: 614, msg: '物流订单不存在' }],
  1,
  'dead',
);
export const ALREADY_SHIPPED = fault(
  'vv-tool 614 already shipped (shipped by hand before the demo)',
  'vvtool.send',
  [{ code: 614, msg: '物流订单状态不为新建状态,无需发货处理' }],
  1,
  'already_shipped',
);

export interface DemoPlan {
  readonly accounts: readonly DemoAccount[];
  /** The main traffic, accounts interleaved, in the order it is sent. */
  readonly jobs: readonly PlannedJob[];
  readonly scripts: ReadonlyArray<{
    provider: SandboxProvider;
    orderKey: string;
    answers: readonly ScriptedAnswer[];
  }>;
  /** The account whose balance runs out mid-run (it is held), its starting and topped-up balance. */
  readonly held: { readonly account: string; readonly balance: number; readonly topUp: number };
  /** A delivery reusing the waybill of `jobs[owner]` once that shipped: it dies, and is redriven with `patch`. */
  readonly clash: {
    readonly owner: number;
    readonly job: PlannedJob;
    readonly patch: Record<string, string>;
  };
  /** Index into `jobs` of the shipment sent again once it is done (answered duplicate: true). */
  readonly duplicate: number;
}

const SHIPS_PER_ACCOUNT = 50;
const SYNCS_PER_ACCOUNT = 20;

export function demoPlan(): DemoPlan {
  const perAccount = DEMO_ACCOUNTS.map(plainJobs);
  const scripts: DemoPlan['scripts'][number][] = [];
  const give = (list: PlannedJob[], index: number, spec: Fault) => {
    const job = list[index]!;
    scripts.push({ provider: job.provider, orderKey: job.orderKey, answers: spec.answers });
    list[index] = { ...job, fault: spec.label, expect: spec.expect ?? job.expect };
  };
  const [vv1, vv2, vv3, dmj1] = perAccount as [PlannedJob[], PlannedJob[], PlannedJob[], PlannedJob[]];
  give(vv1, SHIPS_PER_ACCOUNT - 1, DEAD_FOREVER);
  give(vv2, SHIPS_PER_ACCOUNT - 1, ALREADY_SHIPPED);
  // Each fault on the next plain jobs of its kind, round robin over its provider's accounts; the first
  // job of each account stays plain (the clash owner and the duplicate are among them).
  const lists = (operation: Operation) =>
    perAccount.filter((list) => list.some((job) => job.operation === operation));
  for (const spec of FAULTS) {
    const candidates = lists(spec.operation);
    for (let n = 0; n < spec.count; n++) {
      const list = candidates[n % candidates.length]!;
      const index = list.findIndex(
        (job, i) => i > 0 && job.operation === spec.operation && job.fault === null,
      );
      give(list, index, spec);
    }
  }
  const jobs = interleave(perAccount);
  const clashOrder = orderNo(3, 999);
  const owner = dmj1[0]!;
  return {
    accounts: DEMO_ACCOUNTS,
    jobs,
    scripts,
    held: { account: 'dmj-2', balance: 30, topUp: 100_000 },
    clash: {
      owner: jobs.indexOf(owner),
      job: { ...owner, job: { ...owner.job, order_no: clashOrder } as BatchItem, orderKey: clashOrder },
      patch: { waybill_no: waybillNo(3, 999) },
    },
    duplicate: jobs.indexOf(vv3[0]!),
  };
}

function plainJobs(account: DemoAccount, a: number): PlannedJob[] {
  const plain = { provider: account.provider, fault: null } as const;
  const jobs: PlannedJob[] = [];
  for (let i = 0; i < SHIPS_PER_ACCOUNT; i++) {
    if (account.provider === 'vvtool') {
      const tid = String(880_000_000_000 + a * 10_000 + i);
      const job = {
        type: 'ship',
        account: account.id,
        tid,
        shop_id: `shop-${account.id}`,
        out_sid: `YT${tid}`,
        company_code: 'YTO',
      } as const;
      jobs.push({ ...plain, job, operation: 'vvtool.send', orderKey: tid, expect: 'shipped' });
    } else {
      const order = orderNo(a, i);
      const job = {
        type: 'ship',
        account: account.id,
        seller_nick: `seller-${account.id}`,
        order_no: order,
        wp_code: 'ZTO',
        waybill_no: waybillNo(a, i),
      } as const;
      jobs.push({ ...plain, job, operation: 'damaijia.delivery', orderKey: order, expect: 'shipped' });
    }
  }
  for (let i = 0; account.provider === 'damaijia' && i < SYNCS_PER_ACCOUNT; i++) {
    const sn = `SN${600_000 + a * 10_000 + i}`;
    const job = { type: 'sync', account: account.id, orderSns: sn, ownerId: `owner-${account.id}` } as const;
    jobs.push({ ...plain, job, operation: 'damaijia.sync', orderKey: sn, expect: 'synced' });
  }
  return jobs;
}

const orderNo = (a: number, i: number) => `DJ${700_000 + a * 10_000 + i}`;
const waybillNo = (a: number, i: number) => `ZT${9_000_000_000 + a * 10_000 + i}`;

/** Round robin over the accounts, so every account has work from the first batch on. */
function interleave<T>(lists: readonly (readonly T[])[]): T[] {
  const longest = Math.max(...lists.map((list) => list.length));
  return Array.from({ length: longest }, (_, i) =>
    lists.flatMap((list) => (i < list.length ? [list[i]!] : [])),
  ).flat();
}
