import { expect } from 'vitest';
import { type CliIO, type Output, run } from '../../src/cli/main.js';
import { loadConfig } from '../../src/config/index.js';
import { Fulfillment } from '../../src/queues/service.js';
import type { TestRedis } from '../helpers/redis.js';

/** Tokens of the test accounts: no CLI output may ever contain one. */
export const TOKENS = ['tok-VV1-never-shown-7f3a', 'tok-DM1-never-shown-9c2e', 'tok-VV2-never-shown-1b5d'];

export const ACCOUNTS = [
  { id: 'vv1', provider: 'vvtool', token: TOKENS[0], ratePerSecond: 5 },
  { id: 'dm1', provider: 'damaijia', token: TOKENS[1] },
  { id: 'vv2', provider: 'vvtool', token: TOKENS[2] },
];

/** The environment a CLI run of this test file sees: its own Redis prefix and the test accounts. */
export function cliEnv(t: TestRedis): Record<string, string> {
  return { REDIS_URL: t.url, FULFILLMENT_PREFIX: t.prefix, FULFILLMENT_ACCOUNTS: JSON.stringify(ACCOUNTS) };
}

/** The service over the test's connection, for arranging state and checking what the CLI did. */
export function testService(t: TestRedis): Fulfillment {
  return new Fulfillment(loadConfig(cliEnv(t), { accounts: true }), t.redis);
}

export class Capture implements Output {
  text = '';
  readonly isTTY: boolean;
  readonly columns = 80;

  constructor(isTTY = false) {
    this.isTTY = isTTY;
  }

  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON (fails the test when it is not JSON). */
  json<T = Record<string, unknown>>(): T;
}

/** Runs the CLI in-process; checks on every run that no token was printed. */
export async function cli(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  options: { stderrTTY?: boolean } = {},
): Promise<CliRun> {
  const stdout = new Capture();
  const stderr = new Capture(options.stderrTTY ?? false);
  const io: CliIO = { stdout, stderr, env };
  const code = await run(argv, io);
  for (const token of TOKENS) {
    expect(stdout.text).not.toContain(token);
    expect(stderr.text).not.toContain(token);
  }
  return {
    code,
    stdout: stdout.text,
    stderr: stderr.text,
    json<T>() {
      return JSON.parse(stdout.text) as T;
    },
  };
}

export function vvShip(tid: string, outSid: string, account = 'vv1'): Record<string, string> {
  return { account, tid, shop_id: 'shop-1', out_sid: outSid, company_code: 'YTO' };
}

/** `--field k=v` flags for an object. */
export function fieldFlags(fields: Readonly<Record<string, string>>): string[] {
  return Object.entries(fields).flatMap(([key, value]) =>
    key === 'account' ? ['--account', value] : ['--field', `${key}=${value}`],
  );
}
