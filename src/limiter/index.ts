import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { limiterKeys, outboxKey } from '../keys.js';
import { defineLuaCommands } from '../runtime/lua.js';
import { RedisClock } from './clock.js';
import { WireWatch } from './wire.js';

export { RedisClock } from './clock.js';
export { WireWatch } from './wire.js';

export interface LimiterOptions {
  /**
   * Extra spacing per `rate` calls, and the allowance for the way from a call's last check (at its
   * socket) to the upstream's clock (LIMITER_MARGIN_MS).
   */
  readonly marginMs: number;
  /** The longest a job waits for its slot inside its worker slot; later slots park the job. */
  readonly maxWaitMs?: number;
  /**
   * How late after its slot a call may still leave; later, the slot is given up and the job takes
   * another. Unset: the floor plus the clock spread measured against Redis (see lateToleranceMs).
   */
  readonly lateToleranceMs?: number;
  /** Each account's provider, named in the account.held and account.resumed events. */
  readonly providers?: ReadonlyMap<string, string>;
}

export interface GateRequest {
  readonly account: { readonly id: string; readonly ratePerSecond: number };
  readonly jobId: string;
  /** Member recorded in the account's parked set if it is held, e.g. `ship/<job id>`. */
  readonly parkedMember: string;
  /** The job's idempotency marker key: a value starting 'd' (done) or 'x' (dead) ends the job. */
  readonly markerKey: string;
  /** The job's BullMQ hash: parked for its turn, the job is given priority 0 there (see the gate). */
  readonly jobKey: string;
  /** The job reached a granted slot too late to send: it is first in its account's line. */
  readonly again?: boolean;
  /** This job's last grant when its call was not sent: that grant constrains nothing. */
  readonly released?: GrantId;
  /** A hash field to write with a grant, in the same step (the ledger's in-flight mark). */
  readonly onGrant?: { readonly key: string; readonly field: string; readonly value: string };
  /** The marker of the shipment key derived from the job's data (the job id's marker when the same). */
  readonly shipMarkerKey?: string;
  /** Ownership: the job's live-call key, and the call a grant starts (see the gate script). */
  readonly call?: {
    readonly liveKey: string;
    readonly id: string;
    /** How long after its slot the call is surely over (upstream timeout plus slack), ms. */
    readonly overAfterMs: number;
  };
  /** The job's BullMQ lock key and this worker's token: a grant only while the lock is ours. */
  readonly lock?: { readonly key: string; readonly token: string };
}

export type GateAnswer =
  /**
   * Send at `localSlot` (this process's clock; never before the slot in Redis time). `uncertaintyMs`
   * is how much later than the slot that may already be, from clock uncertainty alone.
   */
  | {
      readonly kind: 'grant';
      readonly localSlot: number;
      readonly uncertaintyMs: number;
      /** How late it may leave: the limiter's late tolerance (the gate says so with each grant). */
      readonly allowedLateMs: number;
      /** The grant's number in the account's window log: `sent` and `released` name it. */
      readonly number: number;
      /** Its slot, µs of Redis time: with the number, what names the grant. */
      readonly slotUs: number;
    }
  /** Park the job until shortly before `localSlot`, its estimated turn in the account's line. */
  | { readonly kind: 'park'; readonly localSlot: number }
  | { readonly kind: 'held'; readonly reason: string; readonly code: string; readonly since: number }
  | { readonly kind: 'finished'; readonly marker: string }
  /** This worker no longer holds the job's lock: another worker owns the job now. */
  | { readonly kind: 'lost' }
  /** Another run's call of this job may still be in flight, until `deadline` (epoch ms). */
  | { readonly kind: 'busy'; readonly deadline: number }
  /** Another run's call is surely over and never settled: record it (charge unknown), then ask again. */
  | { readonly kind: 'stale'; readonly callId: string };

/** A grant, as the window log names it: its number and its slot (µs of Redis time). */
export interface GrantId {
  readonly number: number;
  readonly slotUs: number;
}

export interface AccountHold {
  readonly reason: string;
  readonly code: number | null;
  readonly message: string;
}

export interface AccountState {
  readonly id: string;
  readonly state: 'active' | 'held';
  readonly reason: string | null;
  readonly code: number | null;
  readonly message: string | null;
  /** Epoch ms the hold began, or null when active. */
  readonly since: number | null;
}

/** Sampling interval of the event-loop delay histogram, ms. */
const LAG_RESOLUTION_MS = 10;
/**
 * The most lag a caller reports to the gate (which lets its calls be that much later), ms. The gate
 * counts a call not yet reported as taking this much longer on the way, twice, like a lag reported.
 */
const MAX_LAG_MS = 100;
/**
 * The least tolerance, ms: a call this late still leaves, and the window after it pays for what it
 * took (scripts/gate.lua); a slot given up costs a whole spacing and a trip round the gate. Timers
 * and a busy event loop (the first second of a burst) make calls this late.
 */
const TOLERANCE_FLOOR_MS = 30;

const SCRIPTS = new URL('./scripts/', import.meta.url);
/** How many of the gate script's arguments are KEYS. */
const GATE_KEYS = 10;

type GateReply = [string, string | number, (string | number)?, (string | number)?, (string | number)?];

/**
 * The per-account limiter every worker process shares through Redis: at most `ratePerSecond` upstream
 * calls per account in any sliding second as the upstream sees them arrive, plus the held/active state
 * of each account. The one module that knows how calls are paced, so the mechanism can be replaced.
 */
export class AccountLimiter {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #marginMs: number;
  readonly #providers: ReadonlyMap<string, string>;
  readonly #maxWaitUs: number;
  readonly #fixedToleranceMs: number | undefined;
  readonly clock = new RedisClock();
  /** Check-to-wire times of this process's calls, and the connections they opened (reported by the transport). */
  readonly wire = new WireWatch();
  readonly #lag: IntervalHistogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  #lagReadAt = 0;
  #recentLagMs = 0;
  #previousLagMs = 0;

  constructor(redis: Redis, prefix: string, options: LimiterOptions) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#marginMs = options.marginMs;
    this.#providers = options.providers ?? new Map();
    this.#maxWaitUs = Math.round((options.maxWaitMs ?? 1000) * 1000);
    this.#fixedToleranceMs = options.lateToleranceMs;
    defineLuaCommands(redis, SCRIPTS, {
      gate: 'gate.lua',
      gateResume: 'resume.lua',
      gateHold: 'hold.lua',
      gatePublish: 'publish.lua',
      gateSent: 'sent.lua',
    });
  }

  /**
   * How late after its slot a call may leave, ms. The lateness a caller sees always includes the
   * clock spread (at least the best Redis round trip), so a fixed tolerance would stop all sending
   * once Redis is further away than it: the tolerance is that spread plus a floor, unless configured.
   * Whatever it is, the limit holds: the window after a call pays for the lateness it may have, and
   * then for what it had (see scripts/gate.lua).
   */
  get lateToleranceMs(): number {
    if (this.#fixedToleranceMs !== undefined) return this.#fixedToleranceMs;
    const spread = 2 * this.clock.uncertaintyMs;
    return TOLERANCE_FLOOR_MS + (Number.isFinite(spread) ? spread : 0);
  }

  /**
   * Spacing between calls of one account, µs: (1000 ms + margin) / rate. The window after a call is
   * widened by its lateness and twice its process's lag: see scripts/gate.lua.
   */
  spacingUs(ratePerSecond: number): number {
    return Math.ceil(((1000 + this.#marginMs) * 1000) / ratePerSecond);
  }

  /**
   * How much this process has lagged lately, ms: its event-loop lag (p99 beyond the sampling
   * interval) over the last second, the one before (a stall is likelier right after another) and
   * the one in progress, capped at MAX_LAG_MS. The gate lets this process's calls be that much
   * later, and widens the window after each of them by twice it, for the way to the upstream.
   * Zero when calm.
   */
  recentLagMs(): number {
    const now = performance.now();
    if (now - this.#lagReadAt >= 1_000) {
      const lastSecond = this.#loopLagMs();
      this.#recentLagMs = Math.max(lastSecond, this.#previousLagMs);
      this.#previousLagMs = lastSecond;
      this.#lag.reset();
      this.#lagReadAt = now;
      return this.#recentLagMs;
    }
    // The second in progress counts as soon as it lags: a process turning busy (a burst of work
    // after a calm spell) must not wait for the second to end before its calls are allowed for it.
    return Math.max(this.#recentLagMs, this.#loopLagMs());
  }

  /** The event-loop lag since the histogram's last reset (p99 beyond the sampling interval), capped, ms. */
  #loopLagMs(): number {
    // The histogram holds whole timer intervals: the delay is what exceeds the resolution.
    const loop = this.#lag.percentile(99) / 1e6 - LAG_RESOLUTION_MS;
    return Math.min(MAX_LAG_MS, Math.max(0, loop));
  }

  /**
   * Before taking jobs: starts watching the event loop; samples Redis TIME so the clock offset (and
   * the tolerance) is known before the first grant; publishes the accounts' rates and this process's
   * spacing and margin, which every process's gate enforces from its next grant. Returns how many
   * accounts' settings changed.
   */
  async calibrate(
    accounts: readonly { readonly id: string; readonly ratePerSecond: number }[] = [],
    samples = 8,
  ): Promise<number> {
    // Only a process that calls (a worker) watches its event loop: an API that reads account states does not.
    this.#lag.enable();
    for (let i = 0; i < samples; i++) {
      const sentAt = RedisClock.localNow();
      const [seconds, micros] = await this.#redis.time();
      this.clock.observe(sentAt, Number(seconds) * 1000 + Number(micros) / 1000, RedisClock.localNow());
    }
    let changed = 0;
    for (const account of accounts) changed += await this.#publish(account);
    return changed;
  }

  async #publish(account: { readonly id: string; readonly ratePerSecond: number }): Promise<number> {
    return (await this.#redis.gatePublish(
      2,
      limiterKeys.account(this.#prefix, account.id),
      limiterKeys.sent(this.#prefix, account.id),
      account.ratePerSecond,
      this.spacingUs(account.ratePerSecond),
      Math.round(this.#marginMs * 1000),
      this.#maxWaitUs,
    )) as number;
  }

  /** Stops watching the event loop. */
  close(): void {
    this.#lag.disable();
  }

  async acquire(request: GateRequest): Promise<GateAnswer> {
    const sentAt = RedisClock.localNow();
    const reply = (await this.#redis.gate(GATE_KEYS, ...this.#gateArgs(request))) as GateReply;
    const receivedAt = RedisClock.localNow();
    switch (reply[0]) {
      case 'marker':
        return { kind: 'finished', marker: String(reply[1]) };
      case 'lost':
        return { kind: 'lost' };
      case 'busy':
        return { kind: 'busy', deadline: Number(reply[1]) };
      case 'stale':
        return { kind: 'stale', callId: String(reply[1]) };
      case 'held':
        return {
          kind: 'held',
          reason: String(reply[1]),
          code: String(reply[2] ?? ''),
          since: Number(reply[3]),
        };
      case 'grant':
      case 'park':
        return this.#timed(reply, sentAt, receivedAt);
      default:
        throw new Error(`limiter gate answered ${String(reply[0])}`);
    }
  }

  /** The gate script's KEYS (GATE_KEYS of them) and ARGV for a request (see scripts/gate.lua). */
  #gateArgs(request: GateRequest): (string | number)[] {
    const { account } = request;
    const accountKey = limiterKeys.account(this.#prefix, account.id);
    return [
      accountKey,
      limiterKeys.line(this.#prefix, account.id),
      limiterKeys.parked(this.#prefix, account.id),
      request.markerKey,
      request.jobKey,
      // Without a field to write, KEYS[6] is only a stand-in (a key the script already holds).
      request.onGrant?.key ?? accountKey,
      request.shipMarkerKey ?? request.markerKey,
      // Without a call to track, the live-call key is a stand-in that no grant can find set.
      request.call?.liveKey ?? limiterKeys.noCall(this.#prefix, account.id),
      request.lock?.key ?? accountKey,
      limiterKeys.sent(this.#prefix, account.id),
      request.jobId,
      this.spacingUs(account.ratePerSecond),
      this.#maxWaitUs,
      Math.round(this.lateToleranceMs * 1000),
      request.parkedMember,
      request.again ? 'again' : 'first',
      Math.round(this.recentLagMs() * 1000),
      account.ratePerSecond,
      request.onGrant?.field ?? '',
      request.onGrant?.value ?? '',
      request.lock?.token ?? '',
      request.call?.id ?? '',
      request.call?.overAfterMs ?? 0,
      request.released ? `${request.released.number}|${request.released.slotUs}` : '',
      Math.round(this.#marginMs * 1000),
      MAX_LAG_MS * 1000,
    ];
  }

  /**
   * A grant or park in this process's time. The script ran somewhere between sentAt and receivedAt,
   * so the slot is, on our clock, between these bounds; the offset from the best recent sample
   * narrows it. Fire at the late edge of what remains: early is never safe (it crowds the previous
   * second), late is measured and bounded.
   */
  #timed(reply: GateReply, sentAt: number, receivedAt: number): GateAnswer {
    const redisNow = Number(reply[2]) / 1000;
    const slot = Number(reply[1]) / 1000;
    this.clock.observe(sentAt, redisNow, receivedAt);
    const earliest = sentAt + (slot - redisNow);
    const latest = receivedAt + (slot - redisNow);
    const spread = Math.min(latest - earliest, 2 * this.clock.uncertaintyMs);
    const estimate = Math.min(latest, Math.max(earliest, this.clock.toLocal(slot)));
    const localSlot = Math.min(latest, estimate + spread / 2);
    if (reply[0] === 'park') return { kind: 'park', localSlot };
    return {
      kind: 'grant',
      localSlot,
      uncertaintyMs: spread,
      allowedLateMs: Number(reply[3]) / 1000,
      number: Number(reply[4]),
      slotUs: Number(reply[1]),
    };
  }

  /**
   * The granted call passed its last check `lateMs` late (its `lateness` then) and is being written:
   * the window after it needs to be only that much wider, plus the way to the upstream (the margin
   * and twice this process's lag as it is now, when the request leaves; see scripts/sent.lua). Until
   * this lands, the gate counts the call as late as its allowance, with the most lag any process
   * reports: a report lost or late costs rate, never the bound.
   */
  async sent(accountId: string, grant: GrantId, lateMs: number): Promise<void> {
    await this.#redis.gateSent(
      1,
      limiterKeys.sent(this.#prefix, accountId),
      grant.number,
      grant.slotUs,
      Math.max(0, Math.ceil(lateMs * 1000)),
      Math.ceil((this.#marginMs + 2 * this.recentLagMs()) * 1000),
    );
  }

  /** Waits until the granted slot (never before it). */
  async waitForSlot(grant: { readonly localSlot: number }): Promise<void> {
    for (;;) {
      const remaining = grant.localSlot - RedisClock.localNow();
      if (remaining <= 0) return;
      await new Promise((resolve) => setTimeout(resolve, Math.ceil(remaining)));
    }
  }

  /**
   * How late after its slot a call sent right now may be (timer and event-loop lateness plus clock
   * uncertainty). Past the grant's allowance the caller must give the slot up: the margin only absorbs
   * that much jitter between the check and the request's arrival.
   */
  lateness(grant: { readonly localSlot: number; readonly uncertaintyMs: number }): number {
    return RedisClock.localNow() - grant.localSlot + grant.uncertaintyMs;
  }

  /**
   * Marks the account held; every process's next gate call for it parks instead of calling. True when
   * newly held (then account.held is recorded); holding a held account changes nothing.
   */
  async hold(accountId: string, hold: AccountHold): Promise<boolean> {
    const since = Date.now();
    const newly = await this.#redis.gateHold(
      2,
      limiterKeys.account(this.#prefix, accountId),
      outboxKey(this.#prefix),
      hold.reason,
      hold.code === null ? '' : String(hold.code),
      hold.message,
      since,
      JSON.stringify({
        id: accountId,
        provider: this.#providers.get(accountId) ?? null,
        reason: hold.reason,
        code: hold.code,
        since: new Date(since).toISOString(),
      }),
    );
    return newly === 1;
  }

  /**
   * Clears the hold and returns the parked members (`queue/jobId`) for the caller to promote, or null
   * when the account was not held (then nothing changes: its schedule stays, nothing is recorded).
   */
  async resume(accountId: string): Promise<string[] | null> {
    const parked = await this.#redis.gateResume(
      3,
      limiterKeys.account(this.#prefix, accountId),
      limiterKeys.parked(this.#prefix, accountId),
      outboxKey(this.#prefix),
      Date.now(),
      JSON.stringify({ id: accountId, provider: this.#providers.get(accountId) ?? null }),
    );
    return Array.isArray(parked) ? (parked as string[]) : null;
  }

  async isHeld(accountId: string): Promise<boolean> {
    return (await this.#redis.hexists(limiterKeys.account(this.#prefix, accountId), 'held')) === 1;
  }

  async states(accountIds: readonly string[]): Promise<AccountState[]> {
    const pipeline = this.#redis.pipeline();
    for (const id of accountIds) {
      pipeline.hmget(limiterKeys.account(this.#prefix, id), 'held', 'reason', 'code', 'message', 'since');
    }
    const replies = (await pipeline.exec()) ?? [];
    return accountIds.map((id, index) => {
      const [err, value] = replies[index] ?? [null, []];
      if (err) throw err;
      const [held, reason, code, message, since] = value as (string | null)[];
      return held
        ? {
            id,
            state: 'held',
            reason: reason ?? '',
            code: code ? Number(code) : null,
            message: message ?? '',
            since: since ? Number(since) : null,
          }
        : { id, state: 'active', reason: null, code: null, message: null, since: null };
    });
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    gate(numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
    gateResume(numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
    gateHold(numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
    gatePublish(numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
    gateSent(numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
  }
}
