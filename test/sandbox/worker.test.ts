import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ship, vvSend } from './helpers.js';

const ROOT = join(import.meta.dirname, '../..');
const children: ChildProcess[] = [];

/** The environment of a child: ours without any account settings, plus `extra`. */
function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const { FULFILLMENT_ACCOUNTS: _a, FULFILLMENT_ACCOUNTS_FILE: _b, SANDBOX_PORT: _c, ...rest } = process.env;
  return { ...rest, ...extra };
}

function start(extra: Record<string, string>): ChildProcess & { out: () => string; err: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/sandbox.ts'], {
    cwd: ROOT,
    env: env(extra),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  return Object.assign(child, { out: () => out, err: () => err });
}

/** Resolves with stdout once it holds both base URL lines; rejects if the process ends first. */
async function baseUrls(
  child: ReturnType<typeof start>,
): Promise<{ out: string; vvtool: string; damaijia: string }> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const vvtool = /^VVTOOL_BASE_URL=(\S+)$/m.exec(child.out())?.[1];
      const damaijia = /^DAMAIJIA_BASE_URL=(\S+)$/m.exec(child.out())?.[1];
      if (vvtool === undefined || damaijia === undefined) return;
      child.stdout!.off('data', check);
      child.off('exit', early);
      resolve({ out: child.out(), vvtool, damaijia });
    };
    const early = (code: number | null) =>
      reject(new Error(`sandbox exited (${code}) early: ${child.err()}`));
    child.stdout!.on('data', check);
    child.once('exit', early);
    check();
  });
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return code;
}

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

describe('npm run sandbox (workers/sandbox.ts)', () => {
  it('prints base URLs and sample tokens it accepts, then stops on SIGTERM with code 0', async () => {
    const child = start({ SANDBOX_PORT: '0' });
    const { out, vvtool, damaijia } = await baseUrls(child);
    expect(vvtool).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(damaijia).toBe(vvtool);
    const token = /^ {2}vv-demo vvtool (\S+)$/m.exec(out)?.[1];
    expect(token).toBeDefined();
    expect(out).toMatch(/^FULFILLMENT_ACCOUNTS='\[.*"id":"vv-demo".*\]'$/m);
    expect((await vvSend(vvtool, token!, ship('1'))).body).toMatchObject({ code: 0 });
    expect(await stop(child)).toBe(0);
  });

  it('accepts the tokens of FULFILLMENT_ACCOUNTS, labelled by account id, and prints no token', async () => {
    const token = 'configured-secret-token-9999';
    const accounts = JSON.stringify([{ id: 'shop-a', provider: 'vvtool', token }]);
    const child = start({ SANDBOX_PORT: '0', FULFILLMENT_ACCOUNTS: accounts });
    const { out, vvtool } = await baseUrls(child);
    expect(out).toContain('shop-a (vvtool)');
    expect(out).not.toContain(token);
    expect((await vvSend(vvtool, token, ship('2'))).body).toMatchObject({ code: 0 });
    const report = (await (await fetch(`${vvtool}/_sandbox/report`)).json()) as { byAccount: object };
    expect(Object.keys(report.byAccount)).toEqual(['shop-a']);
    expect(await stop(child)).toBe(0);
  });

  it.each([
    [{ SANDBOX_PORT: 'eighty' }, /^sandbox: SANDBOX_PORT must be a whole number from 0 to 65535\n$/],
    [{ SANDBOX_PORT: '70000' }, /^sandbox: SANDBOX_PORT must be/],
    [
      { SANDBOX_PORT: '0', FULFILLMENT_ACCOUNTS: '[{"id":"x"}]' },
      /^sandbox: FULFILLMENT_ACCOUNTS\[0\]\.provider/,
    ],
  ])('refuses %o with one clear line and exit 1', async (extra, line) => {
    const child = start(extra);
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(child.err()).toMatch(line);
    expect(child.err().trim().split('\n')).toHaveLength(1);
  });
});
