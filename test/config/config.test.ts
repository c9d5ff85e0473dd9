import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, DEFAULTS, ENV_NAMES, loadConfig } from '../../src/config/index.js';

const TOKEN = 'very-secret-token-value-123';
const accounts = JSON.stringify([{ id: 'a1', provider: 'vvtool', token: TOKEN }]);
const dir = mkdtempSync(join(tmpdir(), 'ff-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problem(env: Record<string, string>, needs = { accounts: true, apiKeys: true }): string {
  try {
    loadConfig({ FULFILLMENT_ACCOUNTS: accounts, API_KEYS: 'k'.repeat(16), ...env }, needs);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('fills every default and freezes the result', () => {
    const config = loadConfig({ FULFILLMENT_ACCOUNTS: accounts }, { accounts: true });
    expect(config).toMatchObject({
      redisUrl: DEFAULTS.REDIS_URL,
      prefix: 'fulfillment',
      port: 3000,
      upstreamTimeoutMs: 10_000,
      retry: { attempts: 8, baseMs: 1_000, maxMs: 300_000 },
      shutdownGraceMs: 30_000,
      workerConcurrency: 50,
      admin: null,
    });
    expect(config.accounts[0]).toMatchObject({ id: 'a1', provider: 'vvtool', ratePerSecond: 10 });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.retry)).toBe(true);
    expect(Object.isFrozen(config.accounts[0])).toBe(true);
  });

  it('never shows a token, even when the whole config is printed', () => {
    const config = loadConfig({
      FULFILLMENT_ACCOUNTS: accounts,
      ADMIN_USER: 'u',
      ADMIN_PASSWORD: 'pw-secret-9',
    });
    const printed = `${JSON.stringify(config)} ${inspect(config, { depth: 9 })} ${String(config.accounts[0]?.token)}`;
    expect(printed).not.toContain(TOKEN);
    expect(printed).not.toContain('pw-secret-9');
    expect(config.accounts[0]?.token.reveal()).toBe(TOKEN);
  });

  it.each([
    [{ REDIS_URL: 'http://x' }, /^REDIS_URL: must start with redis:\/\//],
    [{ FULFILLMENT_PREFIX: 'a b' }, /^FULFILLMENT_PREFIX:/],
    [{ VVTOOL_BASE_URL: 'not a url' }, /^VVTOOL_BASE_URL: is not a URL/],
    [{ PORT: '70000' }, /^PORT: must be a whole number from 0 to 65535/],
    [{ PORT: 'abc' }, /^PORT:/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL: must be one of/],
    [{ RETRY_ATTEMPTS: '0' }, /^RETRY_ATTEMPTS:/],
    [{ RETRY_BASE_MS: '5000', RETRY_MAX_MS: '100' }, /^RETRY_MAX_MS: must not be below RETRY_BASE_MS/],
    [{ WORKER_CONCURRENCY: '-1' }, /^WORKER_CONCURRENCY:/],
    [{ ADMIN_USER: 'admin' }, /^ADMIN_PASSWORD: ADMIN_USER and ADMIN_PASSWORD must be set together/],
    [{ API_KEYS: 'short' }, /^API_KEYS: key #1 is shorter than 16 characters/],
    [{ API_KEYS: '' }, /^API_KEYS: is not set/],
    [{ BOARD_READ_ONLY: 'maybe' }, /^BOARD_READ_ONLY: must be true or false/],
    [{ FULFILLMENT_ACCOUNTS: '' }, /^FULFILLMENT_ACCOUNTS: is not set/],
    [{ FULFILLMENT_ACCOUNTS: '{' }, /^FULFILLMENT_ACCOUNTS: is not valid JSON/],
    [{ FULFILLMENT_ACCOUNTS: '{}' }, /^FULFILLMENT_ACCOUNTS: must be a JSON array/],
    [{ FULFILLMENT_ACCOUNTS: '[]' }, /^FULFILLMENT_ACCOUNTS: must list at least one account/],
    [
      { FULFILLMENT_ACCOUNTS: '[{"id":"a:b","provider":"vvtool","token":"t"}]' },
      /^FULFILLMENT_ACCOUNTS\[0\]\.id:/,
    ],
    [
      { FULFILLMENT_ACCOUNTS: '[{"id":"a","provider":"x","token":"t"}]' },
      /^FULFILLMENT_ACCOUNTS\[0\]\.provider:/,
    ],
    [
      { FULFILLMENT_ACCOUNTS: '[{"id":"a","provider":"vvtool","token":""}]' },
      /^FULFILLMENT_ACCOUNTS\[0\]\.token:/,
    ],
    [
      { FULFILLMENT_ACCOUNTS: '[{"id":"a","provider":"vvtool","token":"t","ratePerSecond":0}]' },
      /ratePerSecond: must be a positive number/,
    ],
    [
      {
        FULFILLMENT_ACCOUNTS:
          '[{"id":"a","provider":"vvtool","token":"t"},{"id":"a","provider":"vvtool","token":"u"}]',
      },
      /^FULFILLMENT_ACCOUNTS\[1\]\.id: duplicates account id "a"/,
    ],
    [{ FULFILLMENT_ACCOUNTS_FILE: '/nonexistent/accounts.json' }, /FULFILLMENT_ACCOUNTS/],
  ])('refuses %j with one line naming the setting', (env, message) => {
    const line = problem(env);
    expect(line).toMatch(message);
    expect(line).not.toContain('\n');
    expect(line).not.toContain(TOKEN);
  });

  it('reads accounts from FULFILLMENT_ACCOUNTS_FILE', () => {
    const file = join(dir, 'accounts.json');
    writeFileSync(file, accounts);
    const config = loadConfig({ FULFILLMENT_ACCOUNTS_FILE: file }, { accounts: true });
    expect(config.accounts.map((account) => account.id)).toEqual(['a1']);
    expect(() => loadConfig({ FULFILLMENT_ACCOUNTS_FILE: file, FULFILLMENT_ACCOUNTS: accounts })).toThrow(
      /both set/,
    );
  });

  it('lists every setting it reads in ENV_NAMES and in the table of docs/configuration.md', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync('docs/configuration.md', 'utf8');
    for (const name of ENV_NAMES) expect(doc).toContain(`\`${name}\``);
  });
});

describe('a process with a bad setting', () => {
  it.each([
    ['workers/ship.ts', { FULFILLMENT_ACCOUNTS: accounts, RETRY_ATTEMPTS: 'many' }, 'RETRY_ATTEMPTS'],
    ['workers/ship.ts', {}, 'FULFILLMENT_ACCOUNTS'],
    ['workers/api.ts', { FULFILLMENT_ACCOUNTS: accounts }, 'API_KEYS'],
    ['workers/sync.ts', { FULFILLMENT_ACCOUNTS: accounts, REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
  ])('%s exits non-zero with one line naming %s', (script, env, setting) => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', script], {
      env: { PATH: process.env.PATH ?? '', ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).not.toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(setting);
    expect(result.stdout + result.stderr).not.toContain(TOKEN);
  });
});
