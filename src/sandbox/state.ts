import { AccountBook } from './accounts.js';
import { DamaijiaApi } from './damaijia.js';
import {
  AFTER_KINDS,
  checkAnswers,
  checkFaults,
  checkOrderKey,
  checkProvider,
  isAmount,
  SandboxInputError,
} from './input.js';
import { seededRandom } from './prng.js';
import type { ProviderApi } from './provider.js';
import type {
  CallFilter,
  CallRecord,
  FaultKind,
  FaultSettings,
  SandboxOptions,
  SandboxProvider,
  SandboxReport,
  ScriptedAnswer,
} from './types.js';
import { VvtoolApi } from './vvtool.js';

/** What the sandbox does with one admitted call. */
export type Plan =
  | { kind: 'process'; charge: number | null }
  | { kind: 'answer'; code: number; msg?: string; err?: string; charge: number }
  | { kind: 'fault'; fault: FaultKind; when: 'before' | 'after' };

const PROCESS: Plan = { kind: 'process', charge: null };

/** Everything the sandbox remembers: accounts, order books, scripts, faults and the call log. */
export class SandboxState {
  readonly accounts: AccountBook;
  readonly apis: Readonly<Record<SandboxProvider, ProviderApi>> = {
    vvtool: new VvtoolApi(),
    damaijia: new DamaijiaApi(),
  };
  readonly ratePerSecond: number;
  readonly price: number;
  readonly stallMs: number;
  readonly #latencyAtStart: number;
  latencyMs: number;
  readonly #scripts = new Map<string, ScriptedAnswer[]>();
  #faults: { settings: FaultSettings; random: () => number } | null = null;
  #records: CallRecord[] = [];
  #violations: SandboxReport['violations'] = [];
  #seq = 0;

  constructor(options: SandboxOptions) {
    this.accounts = new AccountBook(options.accounts ?? []);
    this.ratePerSecond = positive(options.ratePerSecond ?? 10, 'ratePerSecond');
    this.price = options.price ?? 1;
    if (!isAmount(this.price)) throw new SandboxInputError('price must be a non-negative number');
    this.stallMs = options.stallMs ?? 30_000;
    if (!isAmount(this.stallMs)) throw new SandboxInputError('stallMs must be a non-negative number');
    this.#latencyAtStart = checkLatency(options.latencyMs ?? 0);
    this.latencyMs = this.#latencyAtStart;
  }

  setLatency(ms: unknown): void {
    this.latencyMs = checkLatency(ms);
  }

  nextSeq(): number {
    this.#seq += 1;
    return this.#seq;
  }

  script(provider: unknown, orderKey: unknown, answers: unknown): void {
    const key = scriptKey(checkProvider(provider), checkOrderKey(orderKey));
    const checked = checkAnswers(answers);
    // A new script for the same order replaces what is left of the old one.
    if (checked.length === 0) this.#scripts.delete(key);
    else this.#scripts.set(key, checked);
  }

  setFaults(faults: unknown): void {
    const settings = checkFaults(faults);
    this.#faults = settings === null ? null : { settings, random: seededRandom(settings.seed ?? 1) };
  }

  setBalance(label: unknown, balance: unknown): void {
    if (typeof label !== 'string') throw new SandboxInputError('account must be a label');
    if (!isAmount(balance)) throw new SandboxInputError('balance must be a non-negative number');
    this.accounts.get(label).balance = balance;
  }

  balance(label: unknown): number {
    if (typeof label !== 'string') throw new SandboxInputError('account must be a label');
    return this.accounts.get(label).balance;
  }

  /** The next scripted answer for the order, else a random fault, else real processing. */
  plan(provider: SandboxProvider, orderKey: string | null): Plan {
    if (orderKey !== null) {
      const key = scriptKey(provider, orderKey);
      const answers = this.#scripts.get(key);
      const answer = answers?.shift();
      if (answers !== undefined && answers.length === 0) this.#scripts.delete(key);
      if (answer !== undefined) return planOf(answer);
    }
    if (this.#faults === null) return PROCESS;
    const { settings, random } = this.#faults;
    if (random() >= settings.rate) return PROCESS;
    const fault = settings.kinds[Math.floor(random() * settings.kinds.length)]!;
    if (!AFTER_KINDS.includes(fault)) return { kind: 'fault', fault, when: 'before' };
    const when = settings.when ?? 'before';
    return { kind: 'fault', fault, when: when === 'random' ? (random() < 0.5 ? 'before' : 'after') : when };
  }

  record(call: CallRecord): void {
    this.#records.push(call);
  }

  violation(account: string, at: number, count: number): void {
    this.#violations.push({ account, at, count });
  }

  calls(filter: CallFilter = {}): CallRecord[] {
    const { account, since } = filter;
    return this.#records
      .filter(
        (call) =>
          (account === undefined || call.account === account) && (since === undefined || call.at >= since),
      )
      .sort((a, b) => a.seq - b.seq)
      .map((call) => ({ ...call, fields: { ...call.fields } }));
  }

  report(): SandboxReport {
    const byAccount: SandboxReport['byAccount'] = {};
    for (const account of this.accounts.all()) byAccount[account.label] = account.report();
    let charged = 0;
    for (const call of this.#records) charged += call.charged;
    return {
      calls: this.#records.length,
      charged,
      byAccount,
      violations: this.#violations.map((violation) => ({ ...violation })),
    };
  }

  reset(): void {
    this.#records = [];
    this.#violations = [];
    this.#seq = 0;
    this.#scripts.clear();
    this.#faults = null;
    this.latencyMs = this.#latencyAtStart;
    for (const api of Object.values(this.apis)) api.clear();
    for (const account of this.accounts.all()) account.reset();
  }
}

function planOf(answer: ScriptedAnswer): Plan {
  if ('fault' in answer) return { kind: 'fault', fault: answer.fault, when: answer.when ?? 'before' };
  if ('pass' in answer) return PROCESS;
  if (answer.code === 0) return { kind: 'process', charge: answer.charge ?? null };
  const plan: Plan = { kind: 'answer', code: answer.code, charge: answer.charge ?? 0 };
  if (answer.msg !== undefined) plan.msg = answer.msg;
  if (answer.err !== undefined) plan.err = answer.err;
  return plan;
}

/** At most a minute: a slow upstream, not a stall (faults have their own). */
function checkLatency(ms: unknown): number {
  if (!isAmount(ms) || ms > 60_000)
    throw new SandboxInputError('latencyMs must be a number of ms from 0 to 60000');
  return ms;
}

function scriptKey(provider: SandboxProvider, orderKey: string): string {
  return `${provider}\u0000${orderKey}`;
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new SandboxInputError(`${name} must be a positive number`);
  return value;
}
