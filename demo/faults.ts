/**
 * The faults the demo scripts at the sandbox, each for a few chosen orders. Every one of them is
 * something the upstream documents (or a network) really does; the label is what the demo prints.
 */
import type { SandboxProvider, ScriptedAnswer } from '../src/sandbox/index.js';
import type { Expected } from './plan.js';

export interface FaultSpec {
  readonly label: string;
  readonly provider: SandboxProvider;
  readonly operation: 'vvtool.send' | 'damaijia.delivery' | 'damaijia.sync';
  /** The answers the sandbox gives this order's first calls, before processing it for real. */
  readonly answers: readonly ScriptedAnswer[];
  /** How many orders get it, spread over the provider's accounts. */
  readonly count: number;
  /** 'same': the job ends as it would have without the fault. */
  readonly expect: 'same' | ((provider: SandboxProvider) => Expected);
}

/** vv-tool's 614 messages, verbatim from the document (ASCII comma included). */
export const ALREADY_SHIPPED_614 = '物流订单状态不为新建状态,无需发货处理';
const NO_SUCH_ORDER_614 = '物流订单不存在';

const transient = (
  provider: SandboxProvider,
  operation: FaultSpec['operation'],
  counts: { http500: number; reset: number; garbage: number; http429: number },
): FaultSpec[] => [
  {
    label: 'HTTP 500',
    provider,
    operation,
    answers: [{ fault: 'http500' }],
    count: counts.http500,
    expect: 'same',
  },
  {
    label: 'connection reset before answering',
    provider,
    operation,
    answers: [{ fault: 'reset' }],
    count: counts.reset,
    expect: 'same',
  },
  {
    label: 'unreadable body (not JSON)',
    provider,
    operation,
    answers: [{ fault: 'garbage' }],
    count: counts.garbage,
    expect: 'same',
  },
  {
    label: 'HTTP 429',
    provider,
    operation,
    answers: [{ fault: 'http429' }],
    count: counts.http429,
    expect: 'same',
  },
];

export const FAULTS: readonly FaultSpec[] = [
  {
    label: 'vv-tool 101 twice (request timeout, retry)',
    provider: 'vvtool',
    operation: 'vvtool.send',
    answers: [{ code: 101 }, { code: 101 }],
    count: 9,
    expect: 'same',
  },
  {
    label: 'vv-tool 202 (system busy, retry later)',
    provider: 'vvtool',
    operation: 'vvtool.send',
    answers: [{ code: 202 }],
    count: 6,
    expect: 'same',
  },
  {
    label: 'vv-tool 614 系统异常 (Taobao says wait and retry)',
    provider: 'vvtool',
    operation: 'vvtool.send',
    answers: [{ code: 614, msg: '系统异常' }],
    count: 3,
    expect: 'same',
  },
  ...transient('vvtool', 'vvtool.send', { http500: 3, reset: 3, garbage: 3, http429: 3 }),
  ...transient('damaijia', 'damaijia.delivery', { http500: 4, reset: 2, garbage: 2, http429: 1 }),
  ...transient('damaijia', 'damaijia.sync', { http500: 2, reset: 0, garbage: 1, http429: 0 }),
  {
    // Shipped and charged, then the connection drops: the ledger records a charge it cannot know,
    // and the retry finds the order shipped (vv-tool 614 "already shipped"; damaijia a free replay).
    label: 'charged, then the connection dropped',
    provider: 'vvtool',
    operation: 'vvtool.send',
    answers: [{ fault: 'reset', when: 'after' }],
    count: 1,
    expect: () => 'already_shipped',
  },
  {
    label: 'charged, then the connection dropped',
    provider: 'damaijia',
    operation: 'damaijia.delivery',
    answers: [{ fault: 'reset', when: 'after' }],
    count: 1,
    expect: 'same',
  },
];

/** One-off outcomes, on chosen jobs of the plan. */
export const SPECIALS = {
  deadForever: {
    label: `vv-tool 614 ${NO_SUCH_ORDER_614} (no such logistics order: dead, for a person to look at)`,
    provider: 'vvtool',
    operation: 'vvtool.send',
    answers: [{ code: 614, msg: NO_SUCH_ORDER_614 }],
    count: 1,
    expect: () => 'dead',
  },
  alreadyShipped: {
    label: 'vv-tool 614 already shipped (shipped by hand before the demo)',
    provider: 'vvtool',
    operation: 'vvtool.send',
    answers: [{ code: 614, msg: ALREADY_SHIPPED_614 }],
    count: 1,
    expect: () => 'already_shipped',
  },
} as const satisfies Record<string, FaultSpec>;
