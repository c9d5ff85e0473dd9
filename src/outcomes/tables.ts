import type { Provider } from '../config/index.js';
import type { Operation, UnansweredReply } from '../upstreams/types.js';
import type { DoneResult, OutcomeKind } from './types.js';

/**
 * One provider code (and, where the provider overloads a code, one message) and what it means for
 * the job. Reasons are what a person reads in the dead-letter queue or on a held account: what
 * happened, then what to do. `{message}` in a reason is replaced by the provider's message.
 */
export interface OutcomeRow {
  readonly code: number;
  /** Only for vv-tool 614, whose meaning is in `msg`: matched exactly after `normaliseMessage`. */
  readonly message?: string;
  readonly outcome: OutcomeKind;
  readonly reason: string;
  /** For 'done' rows; when absent, the operation's own result (DONE_RESULT). */
  readonly result?: DoneResult;
}

/** What a successful call of each operation did. */
export const DONE_RESULT: Readonly<Record<Operation, DoneResult>> = {
  'vvtool.send': 'shipped',
  'damaijia.delivery': 'shipped',
  'damaijia.sync': 'synced',
};

/** vv-tool `erps/send` (docs/upstreams.md): `code`, and for 614 (Taobao's own errors) `msg`. */
const VVTOOL: readonly OutcomeRow[] = [
  { code: 0, outcome: 'done', reason: 'shipped' },
  { code: 101, outcome: 'retry', reason: 'vv-tool request timeout (101): the document says retry' },
  { code: 202, outcome: 'retry', reason: 'vv-tool system error (202): the document says retry later' },
  {
    code: 614,
    message: '系统异常',
    outcome: 'retry',
    reason: 'Taobao system exception (614 系统异常): the document says wait and retry',
  },
  {
    code: 614,
    message: '发货异常,请稍等后重试',
    outcome: 'retry',
    reason: 'Taobao delivery exception (614 发货异常,请稍等后重试): the document says wait and retry',
  },
  {
    code: 614,
    message: '物流订单状态不为新建状态,无需发货处理',
    outcome: 'done',
    result: 'already_shipped',
    // A retry after an ambiguous timeout lands here: the first call shipped it.
    reason: 'already shipped (614 物流订单状态不为新建状态): the order is past the new state; nothing to do',
  },
  {
    code: 614,
    outcome: 'dead',
    reason: 'Taobao refused the shipment (614): {message}; fix the order or waybill, then redrive',
  },
  { code: 401, outcome: 'hold', reason: 'token rejected (401): fix the account token, then resume' },
  {
    code: 204,
    outcome: 'hold',
    reason:
      'no permission for the interface, or call quota spent (204): open it or top up calls at vv-tool, then resume',
  },
  {
    code: 200,
    outcome: 'hold',
    reason:
      'vv-tool system error or wrong address (200): check VVTOOL_BASE_URL or ask vv-tool support, then resume',
  },
  {
    code: 404,
    outcome: 'hold',
    reason: 'wrong path or method (404): check VVTOOL_BASE_URL, then resume',
  },
  { code: 100, outcome: 'dead', reason: 'bad request parameters (100): fix the payload, then redrive' },
  {
    code: 103,
    outcome: 'dead',
    reason: 'Wangwang account does not exist (103): check the shop, then redrive',
  },
  { code: 203, outcome: 'dead', reason: 'interface not supported (203): ask vv-tool support' },
  {
    code: 302,
    outcome: 'dead',
    reason: 'shop not authorised (302): authorise the shop at vv-tool, then redrive',
  },
];

/** damaijia delivery and sync (docs/upstreams.md): `status`. 200 and 202 are NOT vv-tool's 200 and 202. */
const DAMAIJIA: readonly OutcomeRow[] = [
  { code: 0, outcome: 'done', reason: 'done' },
  { code: 200, outcome: 'hold', reason: 'authentication failed (200): fix the account token, then resume' },
  {
    code: 209,
    outcome: 'hold',
    reason: 'insufficient balance (209): top up the damaijia account, then resume',
  },
  {
    code: 1003,
    outcome: 'hold',
    reason: 'user does not exist (1003): check the account token at damaijia, then resume',
  },
  {
    code: 132,
    outcome: 'dead',
    reason: 'request body must be JSON (132): a client bug; report it, then redrive',
  },
  {
    code: 422,
    outcome: 'dead',
    reason: 'invalid parameters (422): {message}; fix the payload, then redrive',
  },
  { code: 202, outcome: 'dead', reason: 'invalid product id (202): fix the order, then redrive' },
  { code: 203, outcome: 'dead', reason: 'invalid warehouse id (203): fix the order, then redrive' },
  { code: 212, outcome: 'dead', reason: 'invalid package id (212): fix the order, then redrive' },
  {
    code: 217,
    outcome: 'dead',
    reason: 'order creation failed (217): check the order at damaijia, then redrive',
  },
  { code: 228, outcome: 'dead', reason: 'invalid order source (228): fix the order, then redrive' },
];

/** Each provider's own table: a code is only ever read in its provider's table. */
export const OUTCOME_TABLES: Readonly<Record<Provider, readonly OutcomeRow[]>> = {
  vvtool: VVTOOL,
  damaijia: DAMAIJIA,
};

/**
 * Answers that mean "try again later" whatever the provider: no HTTP answer, an overloaded or
 * failing upstream, or a body that is not the documented JSON. `{status}` is the HTTP status.
 */
export const TRANSPORT_REASONS = {
  unanswered: {
    refused: 'connection refused (upstream down or wrong base URL): retry with backoff',
    timeout: 'no answer in time (the call may have been charged): retry with backoff',
    reset: 'connection closed before an answer (the call may have been charged): retry with backoff',
    network: 'network error before an answer: retry with backoff',
    late: 'too late for its rate-limit slot at the wire (not sent): retry with backoff',
  } satisfies Record<UnansweredReply['failure'], string>,
  tooManyRequests: 'upstream rate limit (HTTP 429): retry with backoff',
  serverError: 'upstream server error (HTTP {status}): retry with backoff',
  unreadable: 'answer is not the documented JSON (HTTP {status}): retry with backoff',
  /** The public contract fixes this wording (docs/design.md, "Outcomes"). */
  unknownCode: 'unknown code {code}',
} as const;

/** HTTP statuses retried whatever the body says. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * How messages are compared: trimmed, and the full-width comma the upstream sometimes writes
 * ("发货异常，请稍等后重试") read as the ASCII one the document prints.
 */
export function normaliseMessage(message: string): string {
  return message.trim().replaceAll('，', ',');
}
