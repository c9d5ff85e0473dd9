import { type Account, parseAccounts, readAccountsFile } from './accounts.js';
import { ConfigError } from './errors.js';
import { Secret } from './secret.js';
import {
  BASE_URL_SETTINGS,
  checkProductionBaseUrl,
  plainHttpWarnings,
  SANDBOX_DEFAULT_PORT,
} from './upstream-urls.js';

export type { Account, Provider } from './accounts.js';
export { ACCOUNT_ID_PATTERN, DEFAULT_RATE_PER_SECOND, PROVIDERS, parseAccounts } from './accounts.js';
export { ConfigError } from './errors.js';
export { Secret } from './secret.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  readonly redisUrl: string;
  /**
   * Redis Sentinel: when set, the primary is asked of these sentinels by name (and found again after
   * a failover); REDIS_URL then gives only the credentials, database and TLS of the data nodes.
   */
  readonly redisSentinel: {
    readonly sentinels: ReadonlyArray<{ readonly host: string; readonly port: number }>;
    readonly name: string;
  } | null;
  /** Key prefix of every Redis key we write (BullMQ's `prefix` too). */
  readonly prefix: string;
  readonly vvtoolBaseUrl: string;
  readonly damaijiaBaseUrl: string;
  /** Empty only for processes that do not need accounts (the sandbox). */
  readonly accounts: readonly Account[];
  readonly port: number;
  /** Operator keys: every /v1 route. */
  readonly apiKeys: readonly Secret[];
  /** Producer keys: enqueue and read jobs only (every other /v1 route answers 403). */
  readonly producerApiKeys: readonly Secret[];
  /** Bull Board is served only when both are set. */
  readonly admin: { readonly user: string; readonly password: Secret } | null;
  /** Bull Board without its retry, clean, promote, add and edit actions (the default). */
  readonly boardReadOnly: boolean;
  /** NODE_ENV=production: base URLs must be given explicitly and must not be the sandbox. */
  readonly production: boolean;
  /**
   * Settings that start but deserve a person's attention (a token over plain http to another host):
   * logged once at start and shown in /readyz.
   */
  readonly warnings: readonly string[];
  readonly logLevel: LogLevel;
  readonly upstreamTimeoutMs: number;
  readonly retry: { readonly attempts: number; readonly baseMs: number; readonly maxMs: number };
  readonly shutdownGraceMs: number;
  readonly workerConcurrency: number;
  /** Safety margin of the per-account limiter: the spacing between calls is (1000 + margin) / rate ms. */
  readonly limiterMarginMs: number;
  /** How long a completed shipment is remembered for idempotency. */
  readonly idempotencyRetentionMs: number;
  /** Start even when Redis may evict keys (maxmemory-policy other than noeviction). */
  readonly allowRedisEviction: boolean;
  /** BullMQ job lock; a worker that dies mid-job has its jobs taken over after about this long. */
  readonly lockDurationMs: number;
  /** Worker-only processes serve /metrics and /healthz here; null (`off`) serves nothing, 0 any free port. */
  readonly metricsPort: number | null;
  /** Signed event deliveries (WEBHOOK_URL, WEBHOOK_SECRET); null when WEBHOOK_URL is not set. */
  readonly webhook: WebhookConfig | null;
  /** DATABASE_URL: the PostgreSQL of the records (ledger, events, finished jobs); null keeps them in Redis. A Secret: it may hold a password. */
  readonly databaseUrl: Secret | null;
  /**
   * EMBEDDED_PG_DIR: without DATABASE_URL, the data directory of the embedded PostgreSQL that the API
   * process runs for the records; null (`off`) keeps them in Redis. Relative to the working directory.
   */
  readonly embeddedPgDir: string | null;
  /** PG_BIN: the directory of PostgreSQL's `initdb` and `postgres` for the embedded store; null finds them. */
  readonly pgBin: string | null;
}

export interface WebhookConfig {
  /** http or https, without credentials; used exactly as given. */
  readonly url: string;
  /** `whsec_` + base64 of the signing key (at least 24 bytes once decoded). */
  readonly secret: Secret;
}

/** Every default in one place, checked against the type. */
export const DEFAULTS = {
  REDIS_URL: 'redis://127.0.0.1:6379',
  FULFILLMENT_PREFIX: 'fulfillment',
  VVTOOL_BASE_URL: 'http://api.vv-tool.com',
  DAMAIJIA_BASE_URL: 'http://www.damaijia168.com',
  PORT: 3000,
  LOG_LEVEL: 'info',
  UPSTREAM_TIMEOUT_MS: 10_000,
  RETRY_ATTEMPTS: 8,
  RETRY_BASE_MS: 1_000,
  RETRY_MAX_MS: 300_000,
  SHUTDOWN_GRACE_MS: 30_000,
  WORKER_CONCURRENCY: 50,
  LIMITER_MARGIN_MS: 15,
  IDEMPOTENCY_RETENTION_DAYS: 7,
  LOCK_DURATION_MS: 30_000,
  BOARD_READ_ONLY: true,
  METRICS_PORT: 9464,
  EMBEDDED_PG_DIR: '.data/postgres',
} as const satisfies Record<string, string | number | boolean>;

/** Which settings a process cannot start without. */
export interface ConfigNeeds {
  /** FULFILLMENT_ACCOUNTS or FULFILLMENT_ACCOUNTS_FILE (workers, API). */
  readonly accounts?: boolean;
  /** API_KEYS (the HTTP API). */
  readonly apiKeys?: boolean;
}

/** The shortest API key, producer key or Bull Board password accepted: long enough not to be guessed. */
export const MIN_SECRET_LENGTH = 16;

/** Every environment variable the product reads; compose and docs/configuration.md are tested against it. */
export const ENV_NAMES = [
  'REDIS_URL',
  'REDIS_SENTINELS',
  'REDIS_SENTINEL_NAME',
  'FULFILLMENT_PREFIX',
  'VVTOOL_BASE_URL',
  'DAMAIJIA_BASE_URL',
  'FULFILLMENT_ACCOUNTS',
  'FULFILLMENT_ACCOUNTS_FILE',
  'PORT',
  'API_KEYS',
  'ADMIN_USER',
  'ADMIN_PASSWORD',
  // Scoped keys, the read-only board and the production rules for the base URLs.
  'PRODUCER_API_KEYS',
  'BOARD_READ_ONLY',
  'NODE_ENV',
  'SANDBOX_PORT',
  'LOG_LEVEL',
  'UPSTREAM_TIMEOUT_MS',
  'RETRY_ATTEMPTS',
  'RETRY_BASE_MS',
  'RETRY_MAX_MS',
  'SHUTDOWN_GRACE_MS',
  'WORKER_CONCURRENCY',
  'LIMITER_MARGIN_MS',
  'IDEMPOTENCY_RETENTION_DAYS',
  'REDIS_ALLOW_EVICTION',
  'LOCK_DURATION_MS',
  'METRICS_PORT',
  'WEBHOOK_URL',
  'DATABASE_URL',
  'WEBHOOK_SECRET',
  'EMBEDDED_PG_DIR',
  'PG_BIN',
] as const;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads every setting once into a frozen Config. The only reader of process.env in the product:
 * callers pass `process.env` (workers) or a literal object (tests). Throws ConfigError, whose message
 * is the one line to print.
 */
export function loadConfig(env: Env, needs: ConfigNeeds = {}): Config {
  const read = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };

  const redisUrl = url(read, 'REDIS_URL', DEFAULTS.REDIS_URL, ['redis:', 'rediss:']);
  const prefix = read('FULFILLMENT_PREFIX') ?? DEFAULTS.FULFILLMENT_PREFIX;
  if (!/^[A-Za-z0-9_.{}:-]{1,64}$/.test(prefix)) {
    throw new ConfigError('FULFILLMENT_PREFIX', 'must be 1-64 characters of A-Z a-z 0-9 _ . - : { }');
  }

  const accounts = readAccounts(read, needs.accounts ?? false);
  const apiKeys = keyList(read, 'API_KEYS');
  if (needs.apiKeys && apiKeys.length === 0) {
    throw new ConfigError('API_KEYS', 'is not set: give one or more comma-separated bearer keys for /v1');
  }
  const producerApiKeys = keyList(read, 'PRODUCER_API_KEYS');
  producerApiKeys.forEach((key, index) => {
    if (apiKeys.includes(key)) {
      throw new ConfigError(
        'PRODUCER_API_KEYS',
        `key #${index + 1} is also in API_KEYS: a key has one scope, give it in one of the two`,
      );
    }
  });

  const adminUser = read('ADMIN_USER');
  const adminPassword = read('ADMIN_PASSWORD');
  if ((adminUser === undefined) !== (adminPassword === undefined)) {
    throw new ConfigError(
      adminUser === undefined ? 'ADMIN_USER' : 'ADMIN_PASSWORD',
      'ADMIN_USER and ADMIN_PASSWORD must be set together (or neither, which turns Bull Board off)',
    );
  }
  if (adminPassword !== undefined && adminPassword.length < MIN_SECRET_LENGTH) {
    throw new ConfigError('ADMIN_PASSWORD', `is shorter than ${MIN_SECRET_LENGTH} characters`);
  }

  const logLevel = read('LOG_LEVEL') ?? DEFAULTS.LOG_LEVEL;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  }

  const retry = {
    attempts: integer(read, 'RETRY_ATTEMPTS', DEFAULTS.RETRY_ATTEMPTS, 1, 100),
    baseMs: integer(read, 'RETRY_BASE_MS', DEFAULTS.RETRY_BASE_MS, 1, 86_400_000),
    maxMs: integer(read, 'RETRY_MAX_MS', DEFAULTS.RETRY_MAX_MS, 1, 86_400_000),
  };
  if (retry.maxMs < retry.baseMs) throw new ConfigError('RETRY_MAX_MS', 'must not be below RETRY_BASE_MS');

  // A worker that stalls past its lock loses the job to another; the lock must outlast any one call
  // with room, so that a live worker never loses a job in the middle of its call.
  const upstreamTimeoutMs = integer(read, 'UPSTREAM_TIMEOUT_MS', DEFAULTS.UPSTREAM_TIMEOUT_MS, 1, 600_000);
  const lockDurationMs = integer(read, 'LOCK_DURATION_MS', DEFAULTS.LOCK_DURATION_MS, 1_000, 600_000);
  if (lockDurationMs < upstreamTimeoutMs + LOCK_ROOM_MS) {
    throw new ConfigError(
      'LOCK_DURATION_MS',
      `must exceed UPSTREAM_TIMEOUT_MS (${upstreamTimeoutMs}) by at least ${LOCK_ROOM_MS} ms, got ${lockDurationMs}`,
    );
  }

  const production = read('NODE_ENV') === 'production';
  const baseUrls = {
    vvtool: url(read, 'VVTOOL_BASE_URL', DEFAULTS.VVTOOL_BASE_URL, ['http:', 'https:']),
    damaijia: url(read, 'DAMAIJIA_BASE_URL', DEFAULTS.DAMAIJIA_BASE_URL, ['http:', 'https:']),
  };
  // Only for processes that need accounts (workers, API, CLI): the sandbox reads them optionally, and
  // is what these addresses must not be.
  if (production && needs.accounts) {
    const sandboxPort = integer(read, 'SANDBOX_PORT', SANDBOX_DEFAULT_PORT, 0, 65_535);
    for (const setting of Object.values(BASE_URL_SETTINGS)) {
      checkProductionBaseUrl(setting, read(setting), [sandboxPort, SANDBOX_DEFAULT_PORT]);
    }
  }

  return deepFreeze({
    redisUrl,
    redisSentinel: readSentinel(read),
    prefix,
    vvtoolBaseUrl: baseUrls.vvtool,
    damaijiaBaseUrl: baseUrls.damaijia,
    accounts,
    port: integer(read, 'PORT', DEFAULTS.PORT, 0, 65_535),
    apiKeys: apiKeys.map((key) => new Secret(key)),
    producerApiKeys: producerApiKeys.map((key) => new Secret(key)),
    admin:
      adminUser !== undefined && adminPassword !== undefined
        ? { user: adminUser, password: new Secret(adminPassword) }
        : null,
    boardReadOnly: boolean(read, 'BOARD_READ_ONLY', DEFAULTS.BOARD_READ_ONLY),
    production,
    warnings: plainHttpWarnings(baseUrls, accounts),
    logLevel: logLevel as LogLevel,
    upstreamTimeoutMs,
    retry,
    shutdownGraceMs: integer(read, 'SHUTDOWN_GRACE_MS', DEFAULTS.SHUTDOWN_GRACE_MS, 0, 3_600_000),
    workerConcurrency: integer(read, 'WORKER_CONCURRENCY', DEFAULTS.WORKER_CONCURRENCY, 1, 1_000),
    limiterMarginMs: integer(read, 'LIMITER_MARGIN_MS', DEFAULTS.LIMITER_MARGIN_MS, 0, 1_000),
    idempotencyRetentionMs:
      integer(read, 'IDEMPOTENCY_RETENTION_DAYS', DEFAULTS.IDEMPOTENCY_RETENTION_DAYS, 1, 365) * 86_400_000,
    allowRedisEviction: boolean(read, 'REDIS_ALLOW_EVICTION', false),
    lockDurationMs,
    // `off` turns the worker's metrics server off; a port is otherwise read like PORT.
    metricsPort:
      read('METRICS_PORT')?.toLowerCase() === 'off'
        ? null
        : integer(read, 'METRICS_PORT', DEFAULTS.METRICS_PORT, 0, 65_535),
    webhook: readWebhook(read),
    databaseUrl:
      read('DATABASE_URL') === undefined
        ? null
        : new Secret(url(read, 'DATABASE_URL', '', ['postgres:', 'postgresql:'])),
    embeddedPgDir: embeddedDir(read),
    pgBin: read('PG_BIN') ?? null,
  });
}

/** EMBEDDED_PG_DIR: a directory, or `off` for none. */
function embeddedDir(read: Reader): string | null {
  const dir = read('EMBEDDED_PG_DIR') ?? DEFAULTS.EMBEDDED_PG_DIR;
  return dir.toLowerCase() === 'off' ? null : dir;
}

/** How much longer than the upstream timeout a job's lock must last. */
const LOCK_ROOM_MS = 1_000;

/**
 * The Standard Webhooks secret shape: `whsec_` then standard base64, padded or not (the signing
 * package accepts both), with a length some bytes can have.
 */
const WEBHOOK_SECRET_SHAPE = /^whsec_([A-Za-z0-9+/]+)(=?=?)$/;
const WEBHOOK_SECRET_MIN_BYTES = 24;

function readWebhook(read: Reader): WebhookConfig | null {
  const text = read('WEBHOOK_URL');
  const secretText = read('WEBHOOK_SECRET');
  if (text === undefined) {
    if (secretText !== undefined)
      throw new ConfigError('WEBHOOK_SECRET', 'is set, but WEBHOOK_URL is not: set both or neither');
    return null;
  }
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new ConfigError('WEBHOOK_URL', 'is not a URL (expected http://… or https://…)');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError('WEBHOOK_URL', 'must start with http:// or https://');
  }
  // A password there would end up wherever URLs are shown (logs, dashboards).
  if (parsed.username !== '' || parsed.password !== '') {
    throw new ConfigError('WEBHOOK_URL', 'must not carry a user name or password');
  }
  if (secretText === undefined) {
    throw new ConfigError('WEBHOOK_SECRET', 'is not set, but WEBHOOK_URL is: give whsec_ followed by base64');
  }
  const [, base64, padding = ''] = WEBHOOK_SECRET_SHAPE.exec(secretText) ?? [];
  const whole = base64 !== undefined && base64.length % 4 !== 1;
  if (base64 === undefined || !whole || (padding !== '' && (base64.length + padding.length) % 4 !== 0)) {
    throw new ConfigError('WEBHOOK_SECRET', 'must be whsec_ followed by base64 (A-Z a-z 0-9 + /, = padding)');
  }
  if (Buffer.from(base64, 'base64').length < WEBHOOK_SECRET_MIN_BYTES) {
    throw new ConfigError('WEBHOOK_SECRET', `must encode at least ${WEBHOOK_SECRET_MIN_BYTES} bytes`);
  }
  return { url: text, secret: new Secret(secretText) };
}

type Reader = (name: string) => string | undefined;

/** Comma-separated bearer keys, each at least MIN_SECRET_LENGTH characters. */
function keyList(read: Reader, name: string): string[] {
  const keys = (read(name) ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key !== '');
  keys.forEach((key, index) => {
    if (key.length < MIN_SECRET_LENGTH) {
      throw new ConfigError(name, `key #${index + 1} is shorter than ${MIN_SECRET_LENGTH} characters`);
    }
  });
  return keys;
}

function readSentinel(read: Reader): Config['redisSentinel'] {
  const list = read('REDIS_SENTINELS');
  const name = read('REDIS_SENTINEL_NAME');
  if (list === undefined && name === undefined) return null;
  if (list === undefined)
    throw new ConfigError('REDIS_SENTINELS', 'is not set, but REDIS_SENTINEL_NAME is: set both or neither');
  if (name === undefined)
    throw new ConfigError(
      'REDIS_SENTINEL_NAME',
      "is not set, but REDIS_SENTINELS is: give the monitored primary's name",
    );
  const sentinels = list.split(',').map((entry, index) => {
    const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(entry.trim());
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65_535) {
      throw new ConfigError(
        'REDIS_SENTINELS',
        `entry #${index + 1} must be host:port (port 1-65535), comma-separated`,
      );
    }
    return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
  });
  return { sentinels, name };
}

function readAccounts(read: Reader, required: boolean): readonly Account[] {
  const inline = read('FULFILLMENT_ACCOUNTS');
  const file = read('FULFILLMENT_ACCOUNTS_FILE');
  if (inline !== undefined && file !== undefined) {
    throw new ConfigError('FULFILLMENT_ACCOUNTS', 'and FULFILLMENT_ACCOUNTS_FILE are both set: use one');
  }
  if (inline !== undefined) return parseAccounts(inline, 'FULFILLMENT_ACCOUNTS');
  if (file !== undefined) return readAccountsFile(file);
  if (required) {
    throw new ConfigError(
      'FULFILLMENT_ACCOUNTS',
      'is not set: give a JSON array of {id, provider, token, ratePerSecond?} (or FULFILLMENT_ACCOUNTS_FILE)',
    );
  }
  return Object.freeze([]);
}

function integer(read: Reader, name: string, fallback: number, min: number, max: number): number {
  const text = read(name);
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new ConfigError(name, `must be a whole number from ${min} to ${max}`);
  const value = Number(text);
  if (value < min || value > max) throw new ConfigError(name, `must be a whole number from ${min} to ${max}`);
  return value;
}

function boolean(read: Reader, name: string, fallback: boolean): boolean {
  const text = read(name)?.toLowerCase();
  if (text === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(text)) return true;
  if (['0', 'false', 'no', 'off'].includes(text)) return false;
  throw new ConfigError(name, 'must be true or false');
}

function url(read: Reader, name: string, fallback: string, protocols: readonly string[]): string {
  const text = read(name) ?? fallback;
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new ConfigError(name, `is not a URL (expected ${protocols.map((p) => `${p}//…`).join(' or ')})`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
  // Base URLs are joined with paths later; a trailing slash would double up.
  return protocols.includes('http:') ? text.replace(/\/+$/, '') : text;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !(value instanceof Secret) && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
