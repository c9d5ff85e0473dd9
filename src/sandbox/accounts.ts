import { SandboxInputError } from './input.js';
import type { AccountReport, SandboxAccount, SandboxProvider } from './types.js';
import { ArrivalWindow } from './window.js';

export const DEFAULT_BALANCE = 1_000_000;

/** One account's running state: balance, counters and its arrival window. Knows its token, never shows it. */
export class AccountState {
  readonly label: string;
  readonly provider: SandboxProvider | null;
  readonly startBalance: number;
  balance: number;
  calls = 0;
  charged = 0;
  maxInWindow = 0;
  violations = 0;
  readonly #window = new ArrivalWindow(1000);

  constructor(label: string, provider: SandboxProvider | null, balance: number) {
    this.label = label;
    this.provider = provider;
    this.startBalance = balance;
    this.balance = balance;
  }

  /** Counts a call that arrived at `at`; returns the calls in the window ending at it. */
  arrive(at: number): number {
    this.calls++;
    const inWindow = this.#window.arrive(at);
    if (inWindow > this.maxInWindow) this.maxInWindow = inWindow;
    return inWindow;
  }

  charge(amount: number): void {
    this.balance -= amount;
    this.charged += amount;
  }

  reset(): void {
    this.balance = this.startBalance;
    this.calls = 0;
    this.charged = 0;
    this.maxInWindow = 0;
    this.violations = 0;
    this.#window.clear();
  }

  report(): AccountReport {
    return {
      calls: this.calls,
      charged: this.charged,
      balance: this.balance,
      maxInWindow: this.maxInWindow,
      violations: this.violations,
    };
  }
}

/** The accounts by token (for auth) and by label (for the API). */
export class AccountBook {
  readonly #byToken = new Map<string, AccountState>();
  readonly #byLabel = new Map<string, AccountState>();

  constructor(accounts: readonly SandboxAccount[]) {
    accounts.forEach((account, index) => {
      const at = `accounts[${index}]`;
      if (typeof account.token !== 'string' || account.token === '') {
        throw new SandboxInputError(`${at}.token must be a non-empty string`);
      }
      if (typeof account.label !== 'string' || account.label === '') {
        throw new SandboxInputError(`${at}.label must be a non-empty string`);
      }
      // Names the label only: the token must not appear in an error message.
      if (this.#byToken.has(account.token))
        throw new SandboxInputError(`${at} (${account.label}) repeats a token`);
      if (this.#byLabel.has(account.label))
        throw new SandboxInputError(`${at} repeats label ${account.label}`);
      const balance = account.balance ?? DEFAULT_BALANCE;
      if (!Number.isFinite(balance)) throw new SandboxInputError(`${at}.balance must be a number`);
      const state = new AccountState(account.label, account.provider ?? null, balance);
      this.#byToken.set(account.token, state);
      this.#byLabel.set(account.label, state);
    });
  }

  /** The account a token opens at this provider, or null. */
  authenticate(provider: SandboxProvider, token: string | null): AccountState | null {
    if (token === null) return null;
    const account = this.#byToken.get(token);
    if (account === undefined) return null;
    return account.provider === null || account.provider === provider ? account : null;
  }

  get(label: string): AccountState {
    const account = this.#byLabel.get(label);
    if (account === undefined) throw new SandboxInputError(`no sandbox account labelled ${label}`);
    return account;
  }

  all(): IterableIterator<AccountState> {
    return this.#byLabel.values();
  }
}
