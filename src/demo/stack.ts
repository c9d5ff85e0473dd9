/**
 * Starting the demo's processes: the sandbox (`workers/sandbox.ts`) and the service
 * (`workers/all.ts`: HTTP API, Bull Board, ship and sync workers), each a child process on a free
 * 127.0.0.1 port, as an operator would run them. Nothing runs at import.
 */
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import { ENV_NAMES } from '../config/index.js';
import { temporaryEmbeddedDir } from '../records/embedded.js';
import { type SandboxControl, sandboxControl } from '../sandbox/index.js';
import { type ServiceApi, serviceApi } from './api.js';
import { type ChildHandle, freePort, spawnChild } from './children.js';
import type { DemoAccount } from './plan.js';

export interface DemoCredentials {
  /** Upstream tokens the sandbox accepts; never printed. */
  readonly accounts: ReadonlyArray<DemoAccount & { readonly token: string }>;
  readonly apiKey: string;
  readonly adminUser: string;
  readonly adminPassword: string;
}

/** Fresh random credentials for one run: sandbox tokens, an API key, a Bull Board password. */
export function demoCredentials(accounts: readonly DemoAccount[]): DemoCredentials {
  return {
    accounts: accounts.map((account) => ({
      ...account,
      token: `sandbox-${randomBytes(16).toString('hex')}`,
    })),
    apiKey: `demo-${randomBytes(24).toString('base64url')}`,
    adminUser: 'admin',
    adminPassword: randomBytes(12).toString('base64url'),
  };
}

export interface StartOptions {
  /** The repository root: children run `node --import tsx workers/…` from there. */
  readonly root: string;
  readonly credentials: DemoCredentials;
  /** Where the children's output goes. */
  readonly log: Writable;
  /** The demo's own environment; the product's settings in it are replaced, the rest passed on. */
  readonly env: NodeJS.ProcessEnv;
}

export interface RunningSandbox {
  readonly url: string;
  readonly control: SandboxControl;
  readonly child: ChildHandle;
}

export interface RunningService {
  readonly url: string;
  readonly api: ServiceApi;
  readonly child: ChildHandle;
  /** The embedded PostgreSQL's data directory (removed when the service exits). */
  readonly recordsDir: string;
}

const SANDBOX_START_MS = 30_000;
const SERVICE_START_MS = 45_000;
const SERVICE_PORT_ATTEMPTS = 3;
const READY_POLL_MS = 200;

/** The environment without any product setting the user may have exported (they would mix in). */
function baseEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const clean = { ...env };
  for (const name of [...ENV_NAMES, 'SANDBOX_PORT']) delete clean[name];
  return clean;
}

function accountsJson(credentials: DemoCredentials): string {
  return JSON.stringify(
    credentials.accounts.map(({ id, provider, token, ratePerSecond }) => ({
      id,
      provider,
      token,
      ratePerSecond,
    })),
  );
}

function nodeChild(name: string, script: string, env: NodeJS.ProcessEnv, options: StartOptions): ChildHandle {
  return spawnChild(name, process.execPath, ['--import', 'tsx', script], {
    cwd: options.root,
    env,
    log: options.log,
  });
}

export async function startSandboxProcess(options: StartOptions): Promise<RunningSandbox> {
  const env = {
    ...baseEnv(options.env),
    SANDBOX_PORT: '0',
    FULFILLMENT_ACCOUNTS: accountsJson(options.credentials),
  };
  const child = nodeChild('sandbox', 'workers/sandbox.ts', env, options);
  try {
    const url = await child.waitFor(
      'printing its URL',
      (output) => /^VVTOOL_BASE_URL=(http:\/\/127\.0\.0\.1:\d+)$/m.exec(output)?.[1],
      SANDBOX_START_MS,
    );
    return { url, control: sandboxControl(url), child };
  } catch (err) {
    await child.stop(2_000);
    throw withTail(err as Error, child);
  }
}

export interface ServiceSettings {
  readonly redisUrl: string;
  readonly prefix: string;
  readonly sandboxUrl: string;
}

/**
 * `workers/all.ts` on a free port, with short retry delays so the scripted faults resolve in seconds.
 * Ready when GET /readyz answers 200 (Redis reachable). A port taken in the meantime: another port.
 */
export async function startServiceProcess(
  options: StartOptions,
  settings: ServiceSettings,
): Promise<RunningService> {
  const { credentials } = options;
  let last: Error | undefined;
  for (let attempt = 0; attempt < SERVICE_PORT_ATTEMPTS; attempt++) {
    const port = await freePort();
    // The records go to an embedded PostgreSQL, as without DATABASE_URL in `npm start`: a throwaway one.
    const records = temporaryEmbeddedDir();
    const env = {
      ...baseEnv(options.env),
      REDIS_URL: settings.redisUrl,
      FULFILLMENT_PREFIX: settings.prefix,
      VVTOOL_BASE_URL: settings.sandboxUrl,
      DAMAIJIA_BASE_URL: settings.sandboxUrl,
      FULFILLMENT_ACCOUNTS: accountsJson(credentials),
      PORT: String(port),
      API_KEYS: credentials.apiKey,
      ADMIN_USER: credentials.adminUser,
      ADMIN_PASSWORD: credentials.adminPassword,
      LOG_LEVEL: 'info',
      RETRY_BASE_MS: '200',
      RETRY_MAX_MS: '2000',
      SHUTDOWN_GRACE_MS: '5000',
      EMBEDDED_PG_DIR: records.dir,
    };
    const child = nodeChild('service', 'workers/all.ts', env, options);
    // The service stops its PostgreSQL before it exits (or the server follows it: see embedded.ts).
    child.process.once('exit', records.remove);
    const url = `http://127.0.0.1:${port}`;
    const api = serviceApi(url, credentials.apiKey);
    const deadline = Date.now() + SERVICE_START_MS;
    while (child.running() && Date.now() < deadline && !(await api.ready())) {
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    }
    if (child.running() && (await api.ready())) return { url, api, child, recordsDir: records.dir };
    await child.stop(2_000);
    last = withTail(
      new Error(child.running() ? 'the service did not get ready in time' : 'the service stopped'),
      child,
    );
    // Only a lost race for the port is worth another try; anything else would fail the same way.
    if (!child.tail(40).some((line) => line.includes('cannot listen'))) break;
  }
  throw last ?? new Error('the service did not start');
}

const RECORDS_POLL_MS = 200;
const WAITING = /\nfulfillment_records_waiting (\S+)\n/;

/** Whether the service runs a records sink (the gauge of what it has still to store is exported). */
export async function recordsInPostgres(api: ServiceApi): Promise<boolean> {
  return WAITING.test(await api.metrics());
}

/**
 * Waits until the records sink has moved every ledger entry and event into PostgreSQL
 * (`fulfillment_records_waiting 0`), where the ledger is then read from; at once without a sink.
 * Throws after `timeoutMs`.
 */
export async function recordsStored(api: ServiceApi, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const waiting = WAITING.exec(await api.metrics())?.[1];
    if (waiting === undefined || waiting === '0') return;
    if (Date.now() > deadline)
      throw new Error(`${waiting} records not yet in PostgreSQL after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, RECORDS_POLL_MS));
  }
}

/** Adds what the child printed last to the error: its own one-line reason is usually there. */
function withTail(err: Error, child: ChildHandle): Error {
  const tail = child.tail(8).filter((line) => line.trim() !== '');
  return new Error(tail.length === 0 ? err.message : `${err.message}; it printed:\n  ${tail.join('\n  ')}`);
}
