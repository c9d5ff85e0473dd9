import { PROVIDERS } from '../config/index.js';
import { JOB_NAMES } from '../jobs/names.js';
import { LedgerError } from './errors.js';
import { callId } from './members.js';
import type { CallContext, EntryStatus, LedgerEntry, Operation, Provider } from './types.js';

const OPERATIONS: readonly Operation[] = JOB_NAMES;
const STATUSES: readonly EntryStatus[] = ['charged', 'unknown'];

/** Checks a call context at the door: the ledger is the record of money, so no half-filled entries. */
export function checkContext(ctx: CallContext): CallContext {
  for (const field of ['account', 'shop', 'order', 'jobId'] as const) {
    if (typeof ctx[field] !== 'string') throw new LedgerError('bad_context', `${field} must be a string`);
  }
  if (ctx.jobId === '') throw new LedgerError('bad_context', 'jobId must not be empty');
  if (!Number.isSafeInteger(ctx.attempt) || ctx.attempt < 0) {
    throw new LedgerError('bad_context', `attempt must be an integer >= 0, got ${ctx.attempt}`);
  }
  if (!(PROVIDERS as readonly string[]).includes(ctx.provider)) {
    throw new LedgerError('bad_context', `unknown provider ${JSON.stringify(ctx.provider)}`);
  }
  if (!OPERATIONS.includes(ctx.operation) || !ctx.operation.startsWith(`${ctx.provider}.`)) {
    throw new LedgerError(
      'bad_context',
      `operation ${JSON.stringify(ctx.operation)} is not one of provider ${ctx.provider}`,
    );
  }
  return ctx;
}

export function makeEntry(ctx: CallContext, atMs: number, amount: number | null): LedgerEntry {
  return {
    id: callId(ctx.jobId, ctx.attempt),
    at: new Date(atMs).toISOString(),
    account: ctx.account,
    provider: ctx.provider,
    operation: ctx.operation,
    shop: ctx.shop,
    order: ctx.order,
    jobId: ctx.jobId,
    attempt: ctx.attempt,
    amount,
    status: amount === null ? 'unknown' : 'charged',
  };
}

/** The in-flight mark: the context and when the request went out, enough to write an unknown entry later. */
export function encodeMark(ctx: CallContext, atMs: number): string {
  const { account, provider, operation, shop, order, jobId, attempt } = ctx;
  return JSON.stringify({ account, provider, operation, shop, order, jobId, attempt, at: atMs });
}

export function decodeMark(id: string, text: string): { ctx: CallContext; at: number } {
  const raw = parseObject(id, text);
  const at = raw['at'];
  if (typeof at !== 'number' || !Number.isSafeInteger(at)) throw corrupt(id, 'in-flight mark has no time');
  const ctx = raw as unknown as CallContext;
  try {
    checkContext(ctx);
  } catch (err) {
    throw corrupt(id, `in-flight mark: ${(err as Error).message}`);
  }
  return { ctx, at };
}

/** Reads a stored entry back, field by field: what comes out of Redis is checked like any input. */
export function decodeEntry(id: string, text: string): LedgerEntry {
  const raw = parseObject(id, text);
  const str = (k: string): string => {
    const v = raw[k];
    if (typeof v !== 'string') throw corrupt(id, `entry field ${k} is not a string`);
    return v;
  };
  const status = str('status') as EntryStatus;
  if (!STATUSES.includes(status)) throw corrupt(id, `entry status ${status}`);
  const amount = raw['amount'];
  if (status === 'charged' ? typeof amount !== 'number' : amount !== null) {
    throw corrupt(id, 'entry amount does not match its status');
  }
  const attempt = raw['attempt'];
  if (typeof attempt !== 'number') throw corrupt(id, 'entry attempt is not a number');
  return {
    id: str('id'),
    at: str('at'),
    account: str('account'),
    provider: str('provider') as Provider,
    operation: str('operation') as Operation,
    shop: str('shop'),
    order: str('order'),
    jobId: str('jobId'),
    attempt,
    amount: amount as number | null,
    status,
  };
}

function parseObject(id: string, text: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw corrupt(id, 'stored value is not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw corrupt(id, 'stored value is not an object');
  return raw as Record<string, unknown>;
}

function corrupt(id: string, what: string): LedgerError {
  return new LedgerError('corrupt', `ledger ${JSON.stringify(id)}: ${what}`);
}
