import type { Redis } from 'ioredis';
import { type LedgerKeys, ledgerKeys } from '../keys.js';
import { csvHeader, csvRow } from './csv.js';
import { checkContext, decodeEntry, decodeMark, encodeMark, makeEntry } from './entry.js';
import { LedgerError } from './errors.js';
import {
  callId,
  checkPageLimit,
  checkRange,
  checkTime,
  decodeCursor,
  encodeCursor,
  lexBounds,
  member,
  memberId,
} from './members.js';
import { defineLedgerScripts } from './scripts.js';
import { SummaryBuilder } from './summary.js';
import type {
  CallContext,
  EntriesPage,
  EntriesQuery,
  LedgerEntry,
  Settlement,
  SettleOptions,
  Summary,
  SummaryQuery,
  TimeRange,
} from './types.js';

/** Entries read per round trip when a summary or an export walks a range. */
const SCAN_BATCH = 1_000;

/**
 * The spend record: one entry per upstream call that charged (or may have charged), unique per job
 * attempt, kept in Redis under the ledger's keys (src/keys.ts). Hot path: `markInflight` (one HSET, or none of
 * its own inside the caller's pipeline) before the request, `settle` (one script) after it.
 */
export class Ledger {
  private readonly keys: LedgerKeys;

  constructor(
    private readonly redis: Redis,
    readonly prefix: string,
  ) {
    this.keys = ledgerKeys(prefix);
    defineLedgerScripts(redis);
  }

  /** Before the request is sent: remember the call in flight, so a crash before `settle` leaves a trace. */
  async markInflight(ctx: CallContext, at: number = Date.now()): Promise<void> {
    await this.redis.hset(this.keys.inflight, this.inflightField(ctx), this.inflightValue(ctx, at));
  }

  /** `markInflight` as one HSET for a caller's own pipeline or MULTI: key, field, value. */
  inflightKey(): string {
    return this.keys.inflight;
  }

  inflightField(ctx: Pick<CallContext, 'jobId' | 'attempt'>): string {
    return callId(ctx.jobId, ctx.attempt);
  }

  inflightValue(ctx: CallContext, at: number): string {
    checkContext(ctx);
    return encodeMark(ctx, checkTime(at, 'at', 'bad_context'));
  }

  /**
   * After the call, in one atomic script: clear the in-flight mark (and the job's live-call key, when
   * given and still this call's); set the keys of `alsoSet` (the job's done or dead marker); write an
   * entry (charged when the amount is above 0, unknown when no answer came back) unless this call has
   * one already. Returns the entry written, or null when the call charged nothing or was recorded
   * before. A bad settlement or option is refused before anything is written.
   */
  async settle(
    ctx: CallContext,
    settlement: Settlement,
    at: number = Date.now(),
    options: SettleOptions = {},
  ): Promise<LedgerEntry | null> {
    checkContext(ctx);
    checkTime(at, 'at', 'bad_context');
    const amount = settledAmount(settlement);
    const { alsoSet, liveKey, event, alsoRemove } = options;
    if (alsoSet && alsoSet.ttlMs !== null && (!Number.isSafeInteger(alsoSet.ttlMs) || alsoSet.ttlMs <= 0)) {
      throw new LedgerError('bad_context', `alsoSet.ttlMs must be a positive integer, got ${alsoSet.ttlMs}`);
    }
    const id = callId(ctx.jobId, ctx.attempt);
    const entry = amount === 0 ? null : makeEntry(ctx, at, amount);
    // Stand-ins for absent keys are keys the script already holds and leaves alone.
    const keys = [
      ...this.scriptKeys(),
      liveKey ?? this.keys.inflight,
      event?.key ?? this.keys.inflight,
      alsoRemove?.key ?? this.keys.inflight,
      ...(alsoSet?.keys ?? []),
    ];
    const args = [
      id,
      member(at, id),
      entry === null ? '' : JSON.stringify(entry),
      alsoSet?.value ?? '',
      alsoSet?.ttlMs == null ? '' : String(alsoSet.ttlMs),
      liveKey === undefined ? '' : '1',
      event?.type ?? '',
      String(at),
      event === undefined ? '' : JSON.stringify(event.data),
      alsoRemove?.member ?? '',
    ];
    const wrote = await this.redis.ledgerSettle(keys.length, ...keys, ...args);
    return wrote === 1 ? entry : null;
  }

  /**
   * A call whose run is gone (the gate found its live-call key past its deadline, with no settle):
   * its in-flight mark becomes an unknown entry, once, dated when the call was sent, and the live-call
   * key goes. Returns the entry written, or null (settled meanwhile, or recovered before).
   */
  async recoverCall(id: string, liveKey: string): Promise<LedgerEntry | null> {
    const text = await this.redis.hget(this.keys.inflight, id);
    let entry: LedgerEntry | null = null;
    let args = [id, '', '', ''];
    if (text !== null) {
      const mark = decodeMark(id, text);
      entry = makeEntry(mark.ctx, mark.at, null);
      args = [id, text, member(mark.at, id), JSON.stringify(entry)];
    }
    const keys = [...this.scriptKeys(), liveKey];
    const wrote = await this.redis.ledgerRecoverCall(keys.length, ...keys, ...args);
    return wrote === 1 ? entry : null;
  }

  /**
   * For a job redelivered after a crash, before its new attempt marks anything: every in-flight mark
   * of this job becomes an unknown entry, once. Each entry is dated when its call was sent, unless
   * `at` is given. Returns the entries written (none for marks a settle got to first).
   */
  async recoverInflight(jobId: string, at?: number): Promise<LedgerEntry[]> {
    if (typeof jobId !== 'string' || jobId === '')
      throw new LedgerError('bad_context', 'jobId must not be empty');
    if (at !== undefined) checkTime(at, 'at', 'bad_context');
    const own = new RegExp(`^${escapeRegExp(jobId)}#\\d+$`);
    const marks = await this.readMarks(`${escapeGlob(jobId)}#*`);
    return this.convertMarks(
      marks.filter(([id]) => own.test(id)),
      () => at,
    );
  }

  /**
   * Marks older than `olderThanMs` whose job will never come back (BullMQ failed it as stalled too
   * often, or it was removed) become unknown entries. For a periodic sweep; pick an age well above
   * the upstream timeout so that no live call is taken.
   */
  async recoverStale(olderThanMs: number, now: number = Date.now()): Promise<LedgerEntry[]> {
    checkTime(olderThanMs, 'olderThanMs');
    const cutoff = now - olderThanMs;
    const marks = await this.readMarks('*');
    return this.convertMarks(marks, (markedAt) => (markedAt < cutoff ? markedAt : null));
  }

  async summary(q: SummaryQuery = {}): Promise<Summary> {
    if (q.groupBy !== undefined && !['account', 'shop', 'operation', 'day'].includes(q.groupBy)) {
      throw new LedgerError('bad_query', `groupBy must be account, shop, operation or day`);
    }
    const builder = new SummaryBuilder(q.groupBy);
    for await (const batch of this.walk(checkRange(q))) for (const entry of batch) builder.add(entry);
    return builder.result();
  }

  /** One page of entries in time order (ties by id); `next` is null on the last page. */
  async entries(q: EntriesQuery = {}): Promise<EntriesPage> {
    const limit = checkPageLimit(q.limit);
    const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    const rows = await this.page(checkRange(q), after, limit + 1);
    const more = rows.length > limit;
    const shown = more ? rows.slice(0, limit) : rows;
    const last = shown.at(-1);
    return {
      items: shown.flatMap(([, entry]) => (entry === null ? [] : [entry])),
      next: more && last ? encodeCursor(last[0]) : null,
    };
  }

  /** The entries as CSV: a header line, then one line per entry in time order, each ending in CRLF. */
  async *csv(q: TimeRange = {}): AsyncIterable<string> {
    const range = checkRange(q);
    yield csvHeader();
    for await (const batch of this.walk(range)) for (const entry of batch) yield csvRow(entry);
  }

  private scriptKeys(): string[] {
    return [this.keys.inflight, this.keys.entries, this.keys.byTime];
  }

  /** Walks a range in batches, one round trip each, so no reply holds more than a batch. */
  private async *walk(range: TimeRange): AsyncGenerator<LedgerEntry[]> {
    let after: string | undefined;
    for (;;) {
      const rows = await this.page(range, after, SCAN_BATCH);
      if (rows.length === 0) return;
      yield rows.flatMap(([, entry]) => (entry === null ? [] : [entry]));
      if (rows.length < SCAN_BATCH) return;
      after = rows.at(-1)?.[0];
    }
  }

  /** Members and their entries; an entry is null only if the hash lost it (never written that way). */
  private async page(
    range: TimeRange,
    after: string | undefined,
    count: number,
  ): Promise<Array<[string, LedgerEntry | null]>> {
    const [min, max] = lexBounds(range, after);
    const reply = await this.redis.ledgerPage(2, this.keys.byTime, this.keys.entries, min, max, count);
    if (!Array.isArray(reply) || reply.length !== 2 || !Array.isArray(reply[0]) || !Array.isArray(reply[1])) {
      throw new LedgerError('corrupt', 'unexpected reply to the page script');
    }
    const [members, values] = reply as [unknown[], unknown[]];
    return members.map((m, i) => {
      const id = memberId(String(m));
      const value = values[i];
      return [String(m), typeof value === 'string' ? decodeEntry(id, value) : null];
    });
  }

  private async readMarks(match: string): Promise<Array<[string, string]>> {
    const marks: Array<[string, string]> = [];
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(this.keys.inflight, cursor, 'MATCH', match, 'COUNT', 1000);
      cursor = next;
      for (let i = 0; i + 1 < flat.length; i += 2) marks.push([flat[i]!, flat[i + 1]!]);
    } while (cursor !== '0');
    return marks;
  }

  /**
   * Writes unknown entries for the marks `dateOf` dates (undefined: the mark's own time; null: leave
   * it). The script re-checks each mark under atomicity, so a settle that won the race keeps its entry.
   */
  private async convertMarks(
    marks: ReadonlyArray<[string, string]>,
    dateOf: (markedAt: number) => number | null | undefined,
  ): Promise<LedgerEntry[]> {
    const pending = new Map<string, LedgerEntry>();
    const args: string[] = [];
    for (const [id, text] of marks) {
      const mark = decodeMark(id, text);
      if (callId(mark.ctx.jobId, mark.ctx.attempt) !== id) {
        throw new LedgerError('corrupt', `ledger ${JSON.stringify(id)}: in-flight mark names another call`);
      }
      const at = dateOf(mark.at);
      if (at === null) continue;
      const entry = makeEntry(mark.ctx, at ?? mark.at, null);
      pending.set(id, entry);
      args.push(id, text, member(at ?? mark.at, id), JSON.stringify(entry));
    }
    if (args.length === 0) return [];
    const keys = this.scriptKeys();
    const written = await this.redis.ledgerRecover(keys.length, ...keys, ...args);
    if (!Array.isArray(written)) throw new LedgerError('corrupt', 'unexpected reply to the recover script');
    return written
      .map((id) => pending.get(String(id)))
      .filter((e): e is LedgerEntry => e !== undefined)
      .sort((a, b) => a.attempt - b.attempt);
  }
}

function settledAmount(settlement: Settlement): number | null {
  if ('unknown' in settlement && settlement.unknown === true) return null;
  const amount = 'amount' in settlement ? settlement.amount : undefined;
  if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0) {
    throw new LedgerError('bad_settlement', `a settlement is { amount >= 0 } or { unknown: true }`);
  }
  return amount;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
