import type { Account, Provider } from './accounts.js';
import { ConfigError } from './errors.js';

/** The base URL setting of each provider. */
export const BASE_URL_SETTINGS: Readonly<Record<Provider, string>> = {
  vvtool: 'VVTOOL_BASE_URL',
  damaijia: 'DAMAIJIA_BASE_URL',
};

/** The sandbox's default port (`npm run sandbox`), refused on loopback in production like SANDBOX_PORT. */
export const SANDBOX_DEFAULT_PORT = 3100;
/** The sandbox's host name in docker-compose. */
const SANDBOX_HOST_NAME = 'sandbox';

/**
 * Whether a URL's host is this machine: 127.0.0.0/8, ::1, localhost (and *.localhost, which
 * resolvers keep on loopback), or the unspecified address, which connects locally.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return true;
  // WHATWG URL keeps IPv6 hosts in brackets and writes ::ffff:127.0.0.1 as ::ffff:7f00:1.
  if (host === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(host)) return true;
  return host === '0.0.0.0' || host === '[::]';
}

/**
 * With NODE_ENV=production a base URL must be given (no default) and must not be the sandbox: a
 * forgotten variable would otherwise ship to the sandbox, which answers "shipped", and the done
 * markers would then answer "completed, duplicate" to the real re-enqueues for days.
 */
export function checkProductionBaseUrl(
  setting: string,
  given: string | undefined,
  sandboxPorts: readonly number[],
): void {
  if (given === undefined) {
    throw new ConfigError(
      setting,
      "must be set when NODE_ENV=production (no default there): give the upstream's base URL",
    );
  }
  const url = new URL(given);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const sandbox =
    url.hostname.toLowerCase() === SANDBOX_HOST_NAME ||
    (isLoopbackHost(url.hostname) && sandboxPorts.includes(port));
  if (sandbox) {
    throw new ConfigError(
      setting,
      `points at the sandbox (${url.host}), refused when NODE_ENV=production: give the upstream's base URL, ` +
        'or run the sandbox profile without NODE_ENV=production',
    );
  }
}

/**
 * One warning per provider whose accounts' tokens would cross the network in clear text: a plain
 * http:// base URL to a host that is not this machine. Names the setting and the account ids, never
 * a token, and the URL's host only (a URL may carry credentials).
 */
export function plainHttpWarnings(
  baseUrls: Readonly<Record<Provider, string>>,
  accounts: readonly Account[],
): string[] {
  const warnings: string[] = [];
  for (const provider of Object.keys(BASE_URL_SETTINGS) as Provider[]) {
    const url = new URL(baseUrls[provider]);
    const ids = accounts.filter((account) => account.provider === provider).map((account) => account.id);
    if (ids.length === 0 || url.protocol !== 'http:' || isLoopbackHost(url.hostname)) continue;
    warnings.push(
      `${BASE_URL_SETTINGS[provider]} is plain http:// to ${url.host}: the tokens of ${provider} ` +
        `account(s) ${ids.join(', ')} cross the network unencrypted; use https:// where the upstream serves it`,
    );
  }
  return warnings;
}
