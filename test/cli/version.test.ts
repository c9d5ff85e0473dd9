import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cli } from './cli.js';

const BIN = fileURLToPath(new URL('../../bin/fulfill.js', import.meta.url));
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** A Redis nobody listens on and no accounts: --version must need neither. */
const NOTHING = { REDIS_URL: 'redis://127.0.0.1:1' };

describe('fulfill --version', () => {
  it("prints package.json's version and exits 0, without config or Redis", async () => {
    const run = await cli(['--version'], NOTHING);
    expect(run).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('does so from the real launcher too', () => {
    const child = spawnSync(process.execPath, [BIN, '--version'], {
      env: { PATH: process.env.PATH ?? '', ...NOTHING },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(child.stdout).toBe(`${version}\n`);
  });
});
