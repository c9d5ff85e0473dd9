import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestRedis, testRedis } from '../helpers/redis.js';
import { cliEnv, TOKENS } from './cli.js';

const BIN = fileURLToPath(new URL('../../bin/fulfill.js', import.meta.url));

let t: TestRedis;
beforeAll(async () => {
  t = await testRedis('cli-bin');
});
afterAll(async () => {
  await t.cleanup();
});

/** Runs the real launcher as a child process, as an operator's shell would. */
async function fulfill(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...cliEnv(t) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [code] = (await once(child, 'close')) as [number | null];
  for (const token of TOKENS) expect(stdout + stderr).not.toContain(token);
  return { code, stdout, stderr };
}

describe('bin/fulfill.js', () => {
  it('runs as a child process: --json output parses, exit codes are the contract', async () => {
    const list = await fulfill(['accounts', 'list', '--json']);
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    const { items } = JSON.parse(list.stdout) as { items: { id: string; state: string }[] };
    expect(items.map((a) => [a.id, a.state])).toEqual([
      ['vv1', 'active'],
      ['dm1', 'active'],
      ['vv2', 'active'],
    ]);

    const missing = await fulfill(['dead', 'show', 'nothing-here', '--json']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toEqual({ error: 'no dead job "nothing-here"', issues: [] });
  });
});
