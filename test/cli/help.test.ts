import { describe, expect, it } from 'vitest';
import { ACCOUNTS, cli } from './cli.js';

const COMMANDS = [
  'enqueue',
  'job',
  'dead list',
  'dead show',
  'dead redrive',
  'dead purge',
  'ledger summary',
  'ledger export',
  'accounts list',
  'accounts hold',
  'accounts resume',
];

/**
 * No accounts (so reading the config would fail with exit 2) and a Redis nobody listens on (so
 * connecting would fail with exit 1): exit 0 proves help needs neither.
 */
const NOTHING = { REDIS_URL: 'redis://127.0.0.1:1' };

describe('fulfill --help', () => {
  it('prints every command in the overview and exits 0', async () => {
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const run = await cli(argv, NOTHING);
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
      for (const name of COMMANDS) expect(run.stdout).toContain(`  ${name} `);
    }
  });

  it.each(COMMANDS)(
    'fulfill %s --help prints its usage and exits 0 without config or Redis',
    async (name) => {
      const run = await cli([...name.split(' '), '--help'], NOTHING);
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
      expect(run.stdout).toMatch(new RegExp(`^fulfill ${name}: `));
      expect(run.stdout).toContain(`\nUsage:\n  fulfill ${name}`);
      expect(run.stdout).toContain('--json');
      // Help wins wherever it stands, even beside flags that would be refused.
      expect((await cli([...name.split(' '), '--bogus', '-h'], NOTHING)).code).toBe(0);
    },
  );

  it('has group help, and `help <command>`', async () => {
    const group = await cli(['dead', '--help'], NOTHING);
    expect(group.code).toBe(0);
    for (const sub of ['list', 'show', 'redrive', 'purge']) expect(group.stdout).toContain(`  dead ${sub} `);
    const help = await cli(['help', 'ledger', 'export'], NOTHING);
    expect(help.stdout).toMatch(/^fulfill ledger export: /);
  });
});

describe('fulfill usage and configuration errors', () => {
  it('exits 2 with the overview on stderr when run without a command', async () => {
    const run = await cli([], NOTHING);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('Usage: fulfill <command>');
  });

  it('exits 2 for an unknown command or a group without its command', async () => {
    const unknown = await cli(['ship'], NOTHING);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "ship"');
    const group = await cli(['dead'], NOTHING);
    expect(group.code).toBe(2);
    expect(group.stderr).toContain('"dead" needs one of: list, show, redrive, purge');
    expect((await cli(['dead', 'bury', 'x'], NOTHING)).stderr).toContain('unknown command "dead bury"');
  });

  it('prints a configuration error as one line and exits 2', async () => {
    const run = await cli(['accounts', 'list'], NOTHING);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: FULFILLMENT_ACCOUNTS: is not set[^\n]*\n$/);
    const json = await cli(['accounts', 'list', '--json'], NOTHING);
    expect(json.json<{ error: string }>().error).toMatch(/^FULFILLMENT_ACCOUNTS: /);
  });

  it('never echoes a token from a malformed account list', async () => {
    const bad = [{ ...ACCOUNTS[0], provider: 'shopify' }];
    const run = await cli(['accounts', 'list'], { ...NOTHING, FULFILLMENT_ACCOUNTS: JSON.stringify(bad) });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('FULFILLMENT_ACCOUNTS[0].provider');
  });

  it('fails with exit 1 at once when Redis is not there, without printing its password', async () => {
    const run = await cli(['accounts', 'list'], {
      REDIS_URL: 'redis://:hunter2-redis-pw@127.0.0.1:1',
      FULFILLMENT_ACCOUNTS: JSON.stringify(ACCOUNTS),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^error: cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1: .*ECONNREFUSED/,
    );
    expect(run.stderr).not.toContain('hunter2');
  });
});
