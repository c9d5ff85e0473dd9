/**
 * Starting the demo's processes: the sandbox (`workers/sandbox.ts`) and the service
 * (`workers/all.ts`: HTTP API, Bull Board, ship and sync workers), each a child process on a free
 * 127.0.0.1 port, as an operator would run them. Nothing runs at import.
 */
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import { ENV_NAMES } from '../src/config/index.js';
import type { SandboxControl } from '../src/sandbox/index.js';
import { type ChildHandle, spawnNode, withTail } from '../support/children.js';
import { freePort } from '../support/ports.js';
import { startSandboxProcess as startSandbox } from '../support/sandbox.js';
import { type ServiceApi, serviceApi } from './api.js';
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
}

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

export async function startSandboxProcess(options: StartOptions): Promise<RunningSandbox> {
  const env = { ...baseEnv(options.env), FULFILLMENT_ACCOUNTS: accountsJson(options.credentials) };
  return startSandbox(env, { cwd: options.root, log: options.log });
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
    };
    const child = spawnNode('service', 'workers/all.ts', { cwd: options.root, env, log: options.log });
    const url = `http://127.0.0.1:${port}`;
    const api = serviceApi(url, credentials.apiKey);
    const deadline = Date.now() + SERVICE_START_MS;
    while (child.running() && Date.now() < deadline && !(await api.ready())) {
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    }
    if (child.running() && (await api.ready())) return { url, api, child };
    await child.stop({ graceMs: 2_000 });
    last = withTail(
      new Error(child.running() ? 'the service did not get ready in time' : 'the service stopped'),
      child,
    );
    // Only a lost race for the port is worth another try; anything else would fail the same way.
    if (!child.tail(40).some((line) => line.includes('cannot listen'))) break;
  }
  throw last ?? new Error('the service did not start');
}
