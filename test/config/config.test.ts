import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, DEFAULTS, ENV_NAMES, loadConfig } from '../../src/config/index.js';
import { freePort } from '../../support/ports.js';
import { spawnNode } from '../helpers/processes.js';
import { redisUrl } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

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
      producerApiKeys: [],
      boardReadOnly: true,
      production: false,
      // The default base URLs are the documents' plain http ones: the vvtool token would cross in clear.
      warnings: [expect.stringMatching(/^VVTOOL_BASE_URL is plain http:\/\/ to api\.vv-tool\.com: /)],
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
      ADMIN_PASSWORD: 'pw-secret-9-long-enough',
      PRODUCER_API_KEYS: 'producer-key-secret-1234',
    });
    const printed = `${JSON.stringify(config)} ${inspect(config, { depth: 9 })} ${String(config.accounts[0]?.token)}`;
    expect(printed).not.toContain(TOKEN);
    expect(printed).not.toContain('pw-secret-9');
    expect(printed).not.toContain('producer-key-secret');
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
    [
      { ADMIN_USER: 'admin', ADMIN_PASSWORD: 'fifteen-chars-x' },
      /^ADMIN_PASSWORD: is shorter than 16 characters$/,
    ],
    [{ PRODUCER_API_KEYS: `${'p'.repeat(16)},short` }, /^PRODUCER_API_KEYS: key #2 is shorter than 16/],
    [
      { API_KEYS: `${'a'.repeat(16)},${'k'.repeat(16)}`, PRODUCER_API_KEYS: 'k'.repeat(16) },
      /^PRODUCER_API_KEYS: key #1 is also in API_KEYS/,
    ],
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
      { FULFILLMENT_ACCOUNTS: '[{"id":"a","provider":"vvtool","token":"tok\\n"}]' },
      /^FULFILLMENT_ACCOUNTS\[0\]\.token: must be printable Latin-1/,
    ],
    [
      { FULFILLMENT_ACCOUNTS: '[{"id":"a","provider":"vvtool","token":"t","ratePerSecond":0}]' },
      /^FULFILLMENT_ACCOUNTS\[0\]\.ratePerSecond: must be a whole number from 1 to 1000000/,
    ],
    [
      { FULFILLMENT_ACCOUNTS: '[{"id":"a","provider":"vvtool","token":"t","ratePerSecond":2.5}]' },
      /^FULFILLMENT_ACCOUNTS\[0\]\.ratePerSecond: must be a whole number/,
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

  it('reads PRODUCER_API_KEYS beside API_KEYS, and BOARD_READ_ONLY=false', () => {
    const config = loadConfig({
      FULFILLMENT_ACCOUNTS: accounts,
      API_KEYS: 'k'.repeat(16),
      PRODUCER_API_KEYS: ` ${'p'.repeat(16)} , ${'q'.repeat(20)} `,
      BOARD_READ_ONLY: 'false',
    });
    expect(config.producerApiKeys.map((key) => key.reveal())).toEqual(['p'.repeat(16), 'q'.repeat(20)]);
    expect(config.boardReadOnly).toBe(false);
  });

  it('keeps the records in an embedded PostgreSQL in .data/postgres by default, EMBEDDED_PG_DIR elsewhere or off', () => {
    const base = { FULFILLMENT_ACCOUNTS: accounts };
    expect(loadConfig(base)).toMatchObject({
      databaseUrl: null,
      embeddedPgDir: '.data/postgres',
      pgBin: null,
    });
    expect(loadConfig({ ...base, EMBEDDED_PG_DIR: '/srv/records', PG_BIN: '/opt/pg/bin' })).toMatchObject({
      embeddedPgDir: '/srv/records',
      pgBin: '/opt/pg/bin',
    });
    expect(loadConfig({ ...base, EMBEDDED_PG_DIR: 'OFF' }).embeddedPgDir).toBeNull();
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

describe('NODE_ENV=production', () => {
  const real = {
    NODE_ENV: 'production',
    VVTOOL_BASE_URL: 'https://api.vv-tool.example',
    DAMAIJIA_BASE_URL: 'https://www.damaijia.example',
  };

  it('starts with both base URLs given and neither the sandbox', () => {
    const config = loadConfig({ FULFILLMENT_ACCOUNTS: accounts, ...real }, { accounts: true });
    expect(config).toMatchObject({ production: true, vvtoolBaseUrl: real.VVTOOL_BASE_URL, warnings: [] });
  });

  it.each([
    [{ VVTOOL_BASE_URL: '' }, /^VVTOOL_BASE_URL: must be set when NODE_ENV=production/],
    [{ DAMAIJIA_BASE_URL: ' ' }, /^DAMAIJIA_BASE_URL: must be set when NODE_ENV=production/],
    [{ VVTOOL_BASE_URL: 'http://sandbox:3100' }, /^VVTOOL_BASE_URL: points at the sandbox \(sandbox:3100\)/],
    [{ DAMAIJIA_BASE_URL: 'https://SANDBOX' }, /^DAMAIJIA_BASE_URL: points at the sandbox/],
    [{ VVTOOL_BASE_URL: 'http://127.0.0.1:3100' }, /^VVTOOL_BASE_URL: points at the sandbox/],
    [{ VVTOOL_BASE_URL: 'http://localhost:3100/' }, /^VVTOOL_BASE_URL: points at the sandbox/],
    [{ VVTOOL_BASE_URL: 'http://[::1]:3100' }, /^VVTOOL_BASE_URL: points at the sandbox/],
    [
      { VVTOOL_BASE_URL: 'http://127.0.0.2:4100', SANDBOX_PORT: '4100' },
      /^VVTOOL_BASE_URL: points at the sandbox \(127\.0\.0\.2:4100\)/,
    ],
  ])('refuses %j with one line naming the setting', (env, message) => {
    const line = problem({ ...real, ...env }, { accounts: true, apiKeys: false });
    expect(line).toMatch(message);
    expect(line).not.toContain('\n');
  });

  it('leaves other environments and the sandbox process (no accounts needed) alone', () => {
    expect(loadConfig({ FULFILLMENT_ACCOUNTS: accounts }, { accounts: true }).vvtoolBaseUrl).toBe(
      DEFAULTS.VVTOOL_BASE_URL,
    );
    const sandboxProcess = loadConfig({ FULFILLMENT_ACCOUNTS: accounts, NODE_ENV: 'production' });
    expect(sandboxProcess.production).toBe(true);
    // A loopback port that is not the sandbox's is fine (a local proxy, say).
    expect(
      loadConfig(
        { FULFILLMENT_ACCOUNTS: accounts, ...real, VVTOOL_BASE_URL: 'http://127.0.0.1:8080' },
        { accounts: true },
      ).vvtoolBaseUrl,
    ).toBe('http://127.0.0.1:8080');
  });
});

describe('tokens over plain http', () => {
  const both = JSON.stringify([
    { id: 'vv-a', provider: 'vvtool', token: TOKEN },
    { id: 'vv-b', provider: 'vvtool', token: TOKEN },
    { id: 'dm-a', provider: 'damaijia', token: TOKEN },
  ]);

  it('warns once per provider whose tokens go to another host in clear text', () => {
    const config = loadConfig({
      FULFILLMENT_ACCOUNTS: both,
      VVTOOL_BASE_URL: 'http://user:pw@api.vv-tool.example:8080/base',
      DAMAIJIA_BASE_URL: 'https://www.damaijia.example',
    });
    expect(config.warnings).toEqual([
      'VVTOOL_BASE_URL is plain http:// to api.vv-tool.example:8080: the tokens of vvtool account(s) ' +
        'vv-a, vv-b cross the network unencrypted; use https:// where the upstream serves it',
    ]);
    expect(config.warnings.join()).not.toContain(TOKEN);
  });

  it('does not warn for https, loopback, or a provider without accounts', () => {
    const dmOnly = JSON.stringify([{ id: 'dm-a', provider: 'damaijia', token: TOKEN }]);
    const cases = [
      {
        FULFILLMENT_ACCOUNTS: both,
        VVTOOL_BASE_URL: 'https://a.example',
        DAMAIJIA_BASE_URL: 'https://b.example',
      },
      {
        FULFILLMENT_ACCOUNTS: both,
        VVTOOL_BASE_URL: 'http://127.0.0.1:3100',
        DAMAIJIA_BASE_URL: 'http://localhost:1',
      },
      {
        FULFILLMENT_ACCOUNTS: dmOnly,
        VVTOOL_BASE_URL: 'http://a.example',
        DAMAIJIA_BASE_URL: 'http://[::1]:9',
      },
    ];
    for (const env of cases) expect(loadConfig(env).warnings).toEqual([]);
  });
});

describe('a process with a bad setting', () => {
  it.each([
    ['workers/ship.ts', { FULFILLMENT_ACCOUNTS: accounts, RETRY_ATTEMPTS: 'many' }, 'RETRY_ATTEMPTS'],
    ['workers/ship.ts', {}, 'FULFILLMENT_ACCOUNTS'],
    ['workers/api.ts', { FULFILLMENT_ACCOUNTS: accounts }, 'API_KEYS'],
    ['workers/sync.ts', { FULFILLMENT_ACCOUNTS: accounts, REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
    [
      'workers/ship.ts',
      { FULFILLMENT_ACCOUNTS: accounts, NODE_ENV: 'production', DAMAIJIA_BASE_URL: 'https://d.example' },
      'VVTOOL_BASE_URL: must be set when NODE_ENV=production',
    ],
    [
      'workers/all.ts',
      {
        FULFILLMENT_ACCOUNTS: accounts,
        API_KEYS: 'k'.repeat(16),
        NODE_ENV: 'production',
        VVTOOL_BASE_URL: 'https://v.example',
        DAMAIJIA_BASE_URL: 'http://sandbox:3100',
      },
      'DAMAIJIA_BASE_URL: points at the sandbox',
    ],
    [
      'workers/api.ts',
      {
        FULFILLMENT_ACCOUNTS: accounts,
        API_KEYS: 'k'.repeat(16),
        ADMIN_USER: 'ops',
        ADMIN_PASSWORD: 'short',
      },
      'ADMIN_PASSWORD: is shorter than 16 characters',
    ],
    [
      'workers/api.ts',
      { FULFILLMENT_ACCOUNTS: accounts, API_KEYS: 'k'.repeat(16), PRODUCER_API_KEYS: 'k'.repeat(16) },
      'PRODUCER_API_KEYS: key #1 is also in API_KEYS',
    ],
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

describe('a process whose tokens would travel over plain http', () => {
  it('starts, and says so in one warning line naming the setting', async () => {
    const port = await freePort();
    // The API process makes no upstream call: nothing is sent to the named host.
    const api = spawnNode('workers/api.ts', {
      REDIS_URL: redisUrl(),
      FULFILLMENT_PREFIX: `t-config-http-${port}`,
      FULFILLMENT_ACCOUNTS: accounts,
      API_KEYS: 'k'.repeat(16),
      PORT: String(port),
      VVTOOL_BASE_URL: 'http://upstream.invalid',
    });
    try {
      const exited = once(api.process, 'exit');
      await Promise.race([
        until('the API to listen', () => api.output().includes('HTTP API listening'), { timeoutMs: 30_000 }),
        exited.then(() => {
          throw new Error(`the API exited: ${api.output()}`);
        }),
      ]);
      const lines = api
        .output()
        .split('\n')
        .filter((line) => line.includes('VVTOOL_BASE_URL'));
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({
        level: 40,
        msg: expect.stringMatching(
          /^VVTOOL_BASE_URL is plain http:\/\/ to upstream\.invalid: the tokens of vvtool account\(s\) a1/,
        ),
      });
      expect(api.output()).not.toContain(TOKEN);
    } finally {
      expect(await api.stop()).toBe(0);
    }
  });
});
