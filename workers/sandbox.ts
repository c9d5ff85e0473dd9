// `npm run sandbox`: the upstream sandbox alone: vv-tool and damaijia on one port (SANDBOX_PORT,
// default 3100), accepting the tokens of FULFILLMENT_ACCOUNTS, or sample tokens it prints.
import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '../src/config/index.js';
import { type Sandbox, type SandboxAccount, startSandbox } from '../src/sandbox/index.js';

// 127.0.0.1 unless SANDBOX_HOST says otherwise (0.0.0.0 in docker-compose, where workers are other hosts).
const HOST = process.env.SANDBOX_HOST?.trim() || '127.0.0.1';
const DEFAULT_PORT = 3100;

function fail(line: string): never {
  process.stderr.write(`sandbox: ${line}\n`);
  process.exit(1);
}

function portFromEnv(): number {
  const text = process.env.SANDBOX_PORT?.trim() ?? '';
  if (text === '') return DEFAULT_PORT;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65_535) fail('SANDBOX_PORT must be a whole number from 0 to 65535');
  return port;
}

/** The configured accounts (labels = account ids), or null when none are configured. */
function configuredAccounts(): SandboxAccount[] | null {
  if (!process.env.FULFILLMENT_ACCOUNTS?.trim() && !process.env.FULFILLMENT_ACCOUNTS_FILE?.trim())
    return null;
  try {
    return loadConfig(process.env).accounts.map((account) => ({
      label: account.id,
      provider: account.provider,
      token: account.token.reveal(),
    }));
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
}

/** Sandbox-only accounts with fresh random tokens: printing them is the point. */
function sampleAccounts(): SandboxAccount[] {
  return [
    { label: 'vv-demo', provider: 'vvtool', token: `sandbox-vv-${randomBytes(12).toString('hex')}` },
    { label: 'dmj-demo', provider: 'damaijia', token: `sandbox-dmj-${randomBytes(12).toString('hex')}` },
  ];
}

const port = portFromEnv();
const configured = configuredAccounts();
const accounts = configured ?? sampleAccounts();

let sandbox: Sandbox;
try {
  sandbox = await startSandbox({ port, host: HOST, accounts });
} catch (err) {
  const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  fail(`cannot listen on ${HOST}:${port} (${code})`);
}

const lines = [
  `sandbox: vv-tool and damaijia listening on ${sandbox.url} (10 calls/s per token; control under /_sandbox/)`,
  `VVTOOL_BASE_URL=${sandbox.vvtoolBaseUrl}`,
  `DAMAIJIA_BASE_URL=${sandbox.damaijiaBaseUrl}`,
];
if (configured !== null) {
  const names = configured.map((account) => `${account.label} (${account.provider})`).join(', ');
  lines.push(`sandbox: accepting the tokens of the configured accounts: ${names}`);
} else {
  lines.push('sandbox: no FULFILLMENT_ACCOUNTS set; sample accounts (sandbox-only test tokens):');
  for (const account of accounts) lines.push(`  ${account.label} ${account.provider} ${account.token}`);
  const json = JSON.stringify(accounts.map(({ label, provider, token }) => ({ id: label, provider, token })));
  lines.push(`FULFILLMENT_ACCOUNTS='${json}'`);
}
process.stdout.write(`${lines.join('\n')}\n`);

const stop = async (signal: NodeJS.Signals) => {
  process.stdout.write(`sandbox: ${signal}, closing\n`);
  await sandbox.close();
  // Nothing else holds the event loop: the process ends with code 0 once the server is closed.
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
