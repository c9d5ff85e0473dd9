import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { fieldMap, type OutboxEvent, readOutboxEntry, trimOutbox } from '../events/index.js';
import { ledgerKeys, outboxKey, RECORDS_GROUP } from '../keys.js';
import { decodeEntry } from '../ledger/entry.js';
import type { LedgerEntry } from '../ledger/index.js';
import { memberId } from '../ledger/members.js';
import { defineLedgerScripts } from '../ledger/scripts.js';
import type { Pool } from './pool.js';
import { ENSURE_GROUP, TRIM_STORED } from './scripts.js';
import { insertEntries, insertEvents } from './sql.js';

/**
 * Makes the outbox's `records` group (and so the outbox) if it is not there. Every process with
 * DATABASE_URL calls it before it takes a job, so no finished job's event is left unrecorded for
 * want of a consumer, whichever process kind starts first.
 */
export async function ensureRecordsGroup(redis: Redis, prefix: string): Promise<void> {
  await ENSURE_GROUP.run(redis, [outboxKey(prefix)], [RECORDS_GROUP]);
}

export interface SinkLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SinkOptions {
  readonly redis: Redis;
  readonly pool: Pool;
  readonly prefix: string;
  /** Records per batch, ledger entries and events each, when the sink is keeping up. */
  readonly batch?: number;
  /** The largest batch, reached by doubling while batches come back full (a backlog). */
  readonly maxBatch?: number;
  /** An outbox entry read by a sink that has not acknowledged it for this long is taken over. */
  readonly claimIdleMs?: number;
  /** The pause when everything is stored, and after a failed batch. */
  readonly idleMs?: number;
  readonly retryMs?: number;
  readonly log?: SinkLog;
  /** For tests of a crash between commit and acknowledgement: runs after each commit. */
  readonly afterCommit?: (what: 'entries' | 'events', count: number) => Promise<void> | void;
}

const DEFAULTS = { batch: 500, maxBatch: 4_000, claimIdleMs: 30_000, idleMs: 250, retryMs: 1_000 } as const;

/**
 * The outbox trim and the claim of a quiet sink's entries each cost Redis a fixed few commands (the
 * trim walks every group and consumer): once per batch they were a good part of the sink's Redis CPU
 * under load. So each runs at most this often while records keep coming, and whenever the sink is
 * caught up.
 */
const HOUSEKEEPING_MS = 1_000;

type StreamEntry = [id: string, fields: string[] | null];

/**
 * Moves records from Redis into PostgreSQL: ledger entries (read in time order, inserted, then
 * removed from Redis) and outbox events (read with the `records` group, inserted with the finished
 * jobs they report, then acknowledged). Redis forgets a record only after the insert committed, and
 * an insert of a record already stored does nothing, so a crash anywhere in between repeats the
 * batch without doubling it, and any number of sinks may run at once.
 */
export class RecordsSink {
  private readonly o: Required<Omit<SinkOptions, 'log' | 'afterCommit'>> &
    Pick<SinkOptions, 'log' | 'afterCommit'>;
  private readonly keys: ReturnType<typeof ledgerKeys>;
  private readonly outbox: string;
  /** Named per process, so that a sink that dies leaves its pending entries for another to claim. */
  readonly consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private groupReady = false;
  /** Whether the last batch of entries or of events was full (more are likely waiting). */
  private lastFull = false;
  /** The batch size now: `batch`, doubled while batches come back full, back to `batch` when one is not. */
  private size: number;
  /** Events read but not yet acknowledged by this sink (a batch that failed): read again first. */
  private ownPending = false;
  /** When the outbox was last trimmed, and whether events were acknowledged since. */
  private trimmedAt = 0;
  private trimOwed = false;
  /** When this sink last looked for a quiet sink's entries to claim. */
  private claimedAt = Number.NEGATIVE_INFINITY;
  private running: Promise<void> | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;
  /** Batches that failed since this sink was made (the database away, Redis away). */
  failures = 0;

  constructor(options: SinkOptions) {
    this.o = { ...DEFAULTS, ...options };
    this.size = this.o.batch;
    this.keys = ledgerKeys(options.prefix);
    this.outbox = outboxKey(options.prefix);
    defineLedgerScripts(options.redis);
  }

  /** Moves one batch of ledger entries; returns how many it read. */
  async moveEntries(): Promise<number> {
    const reply = (await this.o.redis.ledgerPage(
      2,
      this.keys.byTime,
      this.keys.entries,
      '-',
      '+',
      this.size,
    )) as [string[], Array<string | null>];
    const [members, values] = reply;
    if (members.length === 0) return 0;
    const entries: LedgerEntry[] = [];
    const trim: string[] = [];
    members.forEach((m, i) => {
      const id = memberId(m);
      const value = values[i];
      // A member without its entry names nothing to store: it is trimmed with the rest.
      if (typeof value === 'string') entries.push(decodeEntry(id, value));
      trim.push(m, id);
    });
    const client = await this.o.pool.connect();
    try {
      await insertEntries(client, entries);
    } finally {
      client.release();
    }
    await this.o.afterCommit?.('entries', entries.length);
    await TRIM_STORED.run(this.o.redis, [this.keys.entries, this.keys.byTime], trim);
    return members.length;
  }

  /** Moves one batch of outbox events (this sink's own unacknowledged ones first); returns how many. */
  async moveEvents(): Promise<number> {
    await this.ensureGroup();
    const read = await this.readEvents();
    if (read.length === 0) {
      await this.trimOutbox(true);
      return 0;
    }
    this.ownPending = true;
    const events: OutboxEvent[] = [];
    for (const [id, fields] of read) {
      if (fields === null) continue; // trimmed while pending: nothing left to store
      const parsed = readOutboxEntry(id, fieldMap(fields));
      if (parsed.ok) events.push(parsed.event);
      else if (parsed.unreadable.kind === 'malformed') {
        this.o.log?.error({ id, problem: parsed.unreadable.problem }, 'outbox entry unreadable; not stored');
      }
    }
    const client = await this.o.pool.connect();
    try {
      await client.query('BEGIN');
      try {
        await insertEvents(client, events);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    } finally {
      client.release();
    }
    await this.o.afterCommit?.('events', events.length);
    await this.o.redis.xack(this.outbox, RECORDS_GROUP, ...read.map(([id]) => id));
    this.ownPending = false;
    this.trimOwed = true;
    await this.trimOutbox(read.length < this.size);
    return read.length;
  }

  /** Trims the outbox if events were acknowledged since the last trim and it is due (or `caughtUp`). */
  private async trimOutbox(caughtUp: boolean): Promise<void> {
    if (!this.trimOwed) return;
    if (!caughtUp && Date.now() - this.trimmedAt < HOUSEKEEPING_MS) return;
    await trimOutbox(this.o.redis, this.o.prefix);
    this.trimmedAt = Date.now();
    this.trimOwed = false;
  }

  /**
   * One batch of entries and one of events side by side, on two connections: they touch different
   * keys and tables, and each waits mostly on its own round trips and commit.
   */
  async moveBatch(): Promise<number> {
    let entries: number;
    let events: number;
    try {
      [entries, events] = await Promise.all([this.moveEntries(), this.moveEvents()]);
    } catch (err) {
      // A failed batch is tried again at the small size: if its size was why, the next one is smaller.
      this.size = this.o.batch;
      throw err;
    }
    this.lastFull = entries >= this.size || events >= this.size;
    // A backlog: fewer, bigger batches pay the fixed cost of a batch (Redis commands, statements,
    // commits) less often. Caught up: back to the small batch, so a trickle is not held back.
    this.size = this.lastFull
      ? Math.min(this.size * 2, Math.max(this.o.maxBatch, this.o.batch))
      : this.o.batch;
    return entries + events;
  }

  /** Moves batches until Redis holds nothing more to store; returns how many records it moved. */
  async drain(maxBatches = 10_000): Promise<number> {
    let moved = 0;
    for (let i = 0; i < maxBatches; i++) {
      const n = await this.moveBatch();
      if (n === 0) return moved;
      moved += n;
    }
    return moved;
  }

  /** Records in Redis not yet stored: ledger entries, and outbox events the group has not acknowledged. */
  async waiting(): Promise<number> {
    const entries = await this.o.redis.zcard(this.keys.byTime);
    if ((await this.o.redis.exists(this.outbox)) === 0) return entries;
    const groups = (await this.o.redis.xinfo('GROUPS', this.outbox)) as unknown[][];
    for (const raw of groups) {
      const group = fieldMap(raw.map((v) => (v === null ? '' : String(v))));
      if (group.name !== RECORDS_GROUP) continue;
      // lag is empty when Redis cannot tell (after some deletions): count the stream then.
      const lag = group.lag === '' ? await this.o.redis.xlen(this.outbox) : Number(group.lag);
      return entries + Number(group.pending) + lag;
    }
    return entries + (await this.o.redis.xlen(this.outbox));
  }

  /** Moves records until `stop`, pausing when there is nothing to move and after a failure. */
  start(): void {
    if (this.running) return;
    this.stopping = false;
    this.running = this.loop();
  }

  /** Finishes the batch in hand and stops; idempotent. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.running;
    this.running = null;
  }

  private async loop(): Promise<void> {
    let failing = false;
    while (!this.stopping) {
      try {
        await this.moveBatch();
        if (failing) this.o.log?.warn({}, 'records sink storing again');
        failing = false;
        // Short of a full batch, wait for more: each batch costs Redis a few fixed commands (the
        // outbox trim among them), which a trickle of one-record batches would pay per record.
        if (!this.lastFull) await this.pause(this.o.idleMs);
      } catch (err) {
        if (!failing)
          this.o.log?.warn(
            { err: (err as Error).message },
            'records sink cannot store; records wait in Redis',
          );
        failing = true;
        this.failures += 1;
        if (/NOGROUP/.test((err as Error).message)) this.groupReady = false;
        await this.pause(this.o.retryMs);
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  /** Creates the records group (and so the outbox) if it is missing: from then on events are kept for it. */
  async ensureGroup(): Promise<void> {
    if (this.groupReady) return;
    await ENSURE_GROUP.run(this.o.redis, [this.outbox], [RECORDS_GROUP]);
    this.groupReady = true;
  }

  /**
   * Own pending entries (a batch that failed), then new ones; entries of a sink gone quiet are claimed
   * when there are no new ones, or at least every HOUSEKEEPING_MS while new ones keep coming.
   */
  private async readEvents(): Promise<StreamEntry[]> {
    if (this.ownPending) {
      const own = await this.readGroup('0');
      if (own.length > 0) return own;
      this.ownPending = false;
    }
    if (Date.now() - this.claimedAt >= HOUSEKEEPING_MS) {
      const claimed = await this.claimQuiet();
      if (claimed.length > 0) return claimed;
    }
    const fresh = await this.readGroup('>');
    if (fresh.length > 0) return fresh;
    return this.claimQuiet();
  }

  /** Takes over entries pending to a consumer that has not acknowledged them for claimIdleMs. */
  private async claimQuiet(): Promise<StreamEntry[]> {
    this.claimedAt = Date.now();
    const claimed = (await this.o.redis.xautoclaim(
      this.outbox,
      RECORDS_GROUP,
      this.consumer,
      this.o.claimIdleMs,
      '0-0',
      'COUNT',
      this.size,
    )) as [string, StreamEntry[]];
    return claimed[1];
  }

  private async readGroup(from: '0' | '>'): Promise<StreamEntry[]> {
    const reply = (await this.o.redis.xreadgroup(
      'GROUP',
      RECORDS_GROUP,
      this.consumer,
      'COUNT',
      this.size,
      'STREAMS',
      this.outbox,
      from,
    )) as Array<[string, StreamEntry[]]> | null;
    return reply?.[0]?.[1] ?? [];
  }
}
