/**
 * The demo's processes: the sandbox (`workers/sandbox.ts`) and the service (`workers/all.ts`: HTTP API,
 * Bull Board, ship and sync workers), each a child process on a free 127.0.0.1 port as an operator
 * would run them, with fresh random credentials. Nothing runs at import.
 */
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import { FulfillmentClient } from '../src/client/index.js';
import { ENV_NAMES } from '../src/config/index.js';
import { temporaryEmbeddedDir } from '../src/records/embedded.js';
import { type ChildHandle, spawnNode, withTail } from '../support/children.js';
import { freePort } from '../support/ports.js';
import { type SandboxProcess, startSandboxProcess } from '../support/sandbox.js';
import type { DemoAccount } from './plan.js';

export interface Credentials {
  /** Upstream tokens the sandbox accepts; never printed. */
  readonly accounts: ReadonlyArray<DemoAccount & { readonly token: string }>;
  readonly apiKey: string;
  readonly adminUser: string;
  readonly adminPassword: string;
}

export function demoCredentials(accounts: readonly DemoAccount[]): Credentials {
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

export interface StackOptions {
  /** The repository root: children run `node --import tsx workers/…` from there. */
  readonly root: string;
  readonly credentials: Credentials;
  /** Where the children's output goes. */
  readonly log: Writable;
  /** The demo's own environment; the product's settings in it are replaced, the rest passed on. */
  readonly env: NodeJS.ProcessEnv;
}

/** The service's HTTP API as the demo uses it: the typed client for jobs, plain JSON for the rest. */
export interface Service {
  readonly url: string;
  readonly client: FulfillmentClient;
  readonly child: ChildHandle;
  /** The embedded PostgreSQL's data directory (removed when the service exits). */
  readonly recordsDir: string;
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  accounts(): Promise<Array<{ id: string; state: string; reason: string | null }>>;
  metrics(): Promise<string>;
}

/** The environment without any product setting the user may have exported (they would mix in). */
function baseEnv(options: StackOptions): NodeJS.ProcessEnv {
  const env = { ...options.env };
  for (const name of [...ENV_NAMES, 'SANDBOX_PORT']) delete env[name];
  return { ...env, FULFILLMENT_ACCOUNTS: JSON.stringify(options.credentials.accounts) };
}

export function startSandbox(options: StackOptions): Promise<SandboxProcess> {
  return startSandboxProcess(baseEnv(options), { cwd: options.root, log: options.log });
}

const SERVICE_START_MS = 45_000;
const PORT_ATTEMPTS = 3;
const READY_POLL_MS = 200;
const REQUEST_TIMEOUT_MS = 15_000;

/**
 * `workers/all.ts` on a free port, with short retry delays so the scripted faults clear in seconds;
 * ready when GET /readyz answers 200 (Redis reachable). A port taken in the meantime: another port.
 */
export async function startService(
  options: StackOptions,
  settings: { redisUrl: string; prefix: string; sandboxUrl: string },
): Promise<Service> {
  const { credentials } = options;
  let last: Error | undefined;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await freePort();
    // The records go to an embedded PostgreSQL, as without DATABASE_URL in `npm start`: a throwaway one.
    const records = temporaryEmbeddedDir();
    const env = {
      ...baseEnv(options),
      REDIS_URL: settings.redisUrl,
      FULFILLMENT_PREFIX: settings.prefix,
      VVTOOL_BASE_URL: settings.sandboxUrl,
      DAMAIJIA_BASE_URL: settings.sandboxUrl,
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
    const child = spawnNode('service', 'workers/all.ts', { cwd: options.root, env, log: options.log });
    // The service stops its PostgreSQL before it exits (or the server follows it: see embedded.ts).
    child.process.once('exit', records.remove);
    const url = `http://127.0.0.1:${port}`;
    const ready = async () => (await fetchOr(`${url}/readyz`, {}, 1_000))?.status === 200;
    const deadline = Date.now() + SERVICE_START_MS;
    while (child.running() && Date.now() < deadline && !(await ready()))
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    if (child.running() && (await ready())) return service(url, credentials.apiKey, child, records.dir);
    await child.stop({ graceMs: 2_000 });
    last = withTail(
      new Error(child.running() ? 'the service did not get ready in time' : 'the service stopped'),
      child,
    );
    // Only a lost race for the port is worth another try; anything else would fail the same way.
    if (!child.output().includes('cannot listen')) break;
  }
  throw last ?? new Error('the service did not start');
}

function service(url: string, apiKey: string, child: ChildHandle, recordsDir: string): Service {
  const json = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const headers: Record<string, string> = {
      authorization: `Bearer ${apiKey}`,
      'content-type': 'application/json',
    };
    const init = { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) };
    const res = await fetch(`${url}${path}`, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const text = await res.text();
    // The error names the route, never the key.
    if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  };
  return {
    url,
    client: new FulfillmentClient({ baseUrl: url, apiKey, timeoutMs: REQUEST_TIMEOUT_MS }),
    child,
    recordsDir,
    get: (path) => json('GET', path),
    post: (path, body) => json('POST', path, body ?? {}),
    accounts: async () =>
      (await json<{ items: Awaited<ReturnType<Service['accounts']>> }>('GET', '/v1/accounts')).items,
    metrics: async () =>
      (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })).text(),
  };
}

/** The answer, or null when nothing answered in time (not listening yet, or slow). */
export async function fetchOr(url: string, init: RequestInit, timeoutMs: number): Promise<Response | null> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res;
  } catch {
    return null;
  }
}

const RECORDS_POLL_MS = 200;
const WAITING = /\nfulfillment_records_waiting (\S+)\n/;

/** Whether the service runs a records sink (the gauge of what it has still to store is exported). */
export async function recordsInPostgres(service: Service): Promise<boolean> {
  return WAITING.test(await service.metrics());
}

/**
 * Waits until the records sink has moved every ledger entry and event into PostgreSQL
 * (`fulfillment_records_waiting 0`), where the ledger is then read from; at once without a sink.
 * Throws after `timeoutMs`.
 */
export async function recordsStored(service: Service, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const waiting = WAITING.exec(await service.metrics())?.[1];
    if (waiting === undefined || waiting === '0') return;
    if (Date.now() > deadline)
      throw new Error(`${waiting} records not yet in PostgreSQL after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, RECORDS_POLL_MS));
  }
}
