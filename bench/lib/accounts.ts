import { randomBytes } from 'node:crypto';

/** A vv-tool account of a benchmark. Its token is random, lives only in env of our children, never printed. */
export interface BenchAccount {
  readonly id: string;
  readonly provider: 'vvtool';
  readonly token: string;
  readonly ratePerSecond: number;
}

/** `count` accounts named `${tag}000`, `${tag}001`, …, each allowed `ratePerSecond` by our config. */
export function makeAccounts(tag: string, count: number, ratePerSecond: number): BenchAccount[] {
  return Array.from({ length: count }, (_, index) => ({
    id: `${tag}${String(index).padStart(3, '0')}`,
    provider: 'vvtool',
    token: `bench-${randomBytes(12).toString('hex')}`,
    ratePerSecond,
  }));
}

/** FULFILLMENT_ACCOUNTS for the product. */
export function productAccountsJson(accounts: readonly BenchAccount[]): string {
  return JSON.stringify(
    accounts.map(({ id, provider, token, ratePerSecond }) => ({ id, provider, token, ratePerSecond })),
  );
}

/** The same accounts as the sandbox takes them (label = account id). */
export function sandboxAccounts(accounts: readonly BenchAccount[]) {
  return accounts.map(({ id, provider, token }) => ({ label: id, provider, token }));
}

/** For the bare workers: account id → token, nothing else. */
export function bareAccountsJson(accounts: readonly BenchAccount[]): string {
  return JSON.stringify(accounts.map(({ id, token }) => ({ id, token })));
}
