import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';
import { Secret } from './secret.js';

/** What an HTTP header value may hold: tab, printable ASCII and Latin-1, nothing else (RFC 9110 field-value). */
const HEADER_SAFE = /^[\t\x20-\x7e\x80-\xff]+$/;

export const PROVIDERS = ['vvtool', 'damaijia'] as const;
export type Provider = (typeof PROVIDERS)[number];

/** One upstream credential. The token is a Secret: it never enters Redis, job data, logs or answers. */
export interface Account {
  readonly id: string;
  readonly provider: Provider;
  readonly token: Secret;
  readonly ratePerSecond: number;
}

/** The vv-tool document's limit: 10 requests per second per token. */
export const DEFAULT_RATE_PER_SECOND = 10;
/** The highest rate an account may be given (the benchmarks' "no limit" runs use it). */
export const MAX_RATE_PER_SECOND = 1_000_000;
export const ACCOUNT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Parses the account list from JSON text. `setting` names where it came from, for the error line.
 * Errors name the index and field, never the token's value.
 */
export function parseAccounts(text: string, setting: string): readonly Account[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ConfigError(
      setting,
      'is not valid JSON (expected an array of {id, provider, token, ratePerSecond?})',
    );
  }
  if (!Array.isArray(raw)) {
    throw new ConfigError(setting, 'must be a JSON array of {id, provider, token, ratePerSecond?}');
  }
  if (raw.length === 0) throw new ConfigError(setting, 'must list at least one account');
  const seen = new Set<string>();
  return Object.freeze(
    raw.map((item: unknown, index) => {
      const at = `${setting}[${index}]`;
      if (typeof item !== 'object' || item === null || Array.isArray(item)) {
        throw new ConfigError(at, 'must be an object {id, provider, token, ratePerSecond?}');
      }
      const entry = item as Record<string, unknown>;
      const { id, provider, token } = entry;
      if (typeof id !== 'string' || !ACCOUNT_ID_PATTERN.test(id)) {
        throw new ConfigError(`${at}.id`, 'must match ^[A-Za-z0-9_-]{1,64}$');
      }
      if (seen.has(id)) throw new ConfigError(`${at}.id`, `duplicates account id "${id}"`);
      seen.add(id);
      if (typeof provider !== 'string' || !(PROVIDERS as readonly string[]).includes(provider)) {
        throw new ConfigError(`${at}.provider`, `must be one of ${PROVIDERS.join(', ')} (account "${id}")`);
      }
      if (typeof token !== 'string' || token.trim() === '') {
        throw new ConfigError(`${at}.token`, `must be a non-empty string (account "${id}")`);
      }
      if (!HEADER_SAFE.test(token)) {
        // It goes out in the Authorization header, which cannot carry it: every call would fail.
        throw new ConfigError(
          `${at}.token`,
          `must be printable Latin-1 with no line break or control character, as an HTTP header carries it (account "${id}")`,
        );
      }
      const rate = entry['ratePerSecond'] ?? DEFAULT_RATE_PER_SECOND;
      if (typeof rate !== 'number' || !Number.isInteger(rate) || rate < 1 || rate > MAX_RATE_PER_SECOND) {
        // The limit is a count of calls in any sliding second: a whole number, as the upstream counts.
        throw new ConfigError(
          `${at}.ratePerSecond`,
          `must be a whole number from 1 to ${MAX_RATE_PER_SECOND} (account "${id}")`,
        );
      }
      return Object.freeze({
        id,
        provider: provider as Provider,
        token: new Secret(token),
        ratePerSecond: rate,
      });
    }),
  );
}

export function readAccountsFile(path: string): readonly Account[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError('FULFILLMENT_ACCOUNTS_FILE', `cannot read ${path} (${code})`);
  }
  return parseAccounts(text, 'FULFILLMENT_ACCOUNTS_FILE');
}
