import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inspect, promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Client from '../../src/client/index.js';
import { type Child, spawnNode } from '../helpers/processes.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';
import { startSandboxProcess } from '../helpers/sandbox-process.js';
import { until } from '../helpers/wait.js';

/**
 * The package as another service gets it: `npm pack` (which builds dist/), the tarball installed
 * offline into a fresh project, the example of docs/library.md compiled there with tsc against the
 * installed types and run against the real service (API and workers, the sandbox as the upstream).
 */
const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);
const TSC = require.resolve('typescript/bin/tsc');
const TYPES_NODE = (
  JSON.parse(readFileSync(require.resolve('@types/node/package.json'), 'utf8')) as {
    version: string;
  }
).version;

const PRODUCER_KEY = 'producer-key-SECRET-pack-0001';
const UPSTREAM_TOKEN = 'vv-token-SECRET-pack-0002';

let dir: string;
let consumer: string;
let t: TestRedis;
let sandbox: Child;
let service: Child;
let baseUrl: string;

/** The first ```ts block of docs/library.md: the example a reader copies. */
function docExample(): string {
  const doc = readFileSync(join(ROOT, 'docs/library.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!block) throw new Error('docs/library.md has no ```ts example');
  return block;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fulfillment-pack-'));
  consumer = join(dir, 'consumer');
  mkdirSync(consumer);
  await run('npm', ['pack', '--pack-destination', dir], { cwd: ROOT });
  const tarball = readdirSync(dir).find((name) => name.endsWith('.tgz'));
  if (!tarball) throw new Error('npm pack wrote no tarball');
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  writeFileSync(
    join(consumer, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        outDir: 'out',
        types: ['node'],
      },
      include: ['example.ts'],
    }),
  );
  writeFileSync(join(consumer, 'example.ts'), docExample());
  // From the machine's npm cache: the registry is asked only for what it lacks (package metadata).
  await run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      join(dir, tarball),
      `@types/node@${TYPES_NODE}`,
    ],
    { cwd: consumer },
  );

  t = await testRedis('package');
  const accounts = JSON.stringify([{ id: 'shop-a', provider: 'vvtool', token: UPSTREAM_TOKEN }]);
  const upstream = await startSandboxProcess({ FULFILLMENT_ACCOUNTS: accounts });
  sandbox = upstream.child;
  service = spawnNode('workers/all.ts', {
    REDIS_URL: t.url,
    FULFILLMENT_PREFIX: t.prefix,
    FULFILLMENT_ACCOUNTS: accounts,
    API_KEYS: 'operator-key-SECRET-pack-0003',
    PRODUCER_API_KEYS: PRODUCER_KEY,
    VVTOOL_BASE_URL: upstream.url,
    DAMAIJIA_BASE_URL: upstream.url,
    REDIS_ALLOW_EVICTION: 'true',
    PORT: '0',
    METRICS_PORT: 'off',
    LOG_LEVEL: 'info',
  });
  baseUrl = await until(
    'the service to listen',
    () => {
      for (const line of service.output().split('\n')) {
        if (!line.includes('HTTP API listening')) continue;
        return `http://127.0.0.1:${new URL((JSON.parse(line) as { address: string }).address).port}`;
      }
      if (service.process.exitCode !== null) throw new Error(`exited: ${service.output()}`);
      return undefined;
    },
    { timeoutMs: 30_000 },
  );
}, 120_000);

afterAll(async () => {
  await service?.stop();
  await sandbox?.stop();
  await t?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The installed package's entry, found through its own `exports` as Node finds it. */
async function installed(): Promise<typeof Client> {
  const root = join(consumer, 'node_modules/fulfillment-worker');
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    exports: { '.': { import: string; types: string } };
  };
  return (await import(join(root, manifest.exports['.'].import))) as typeof Client;
}

describe('the packed client, installed into another project', () => {
  it('holds the client and its types only, with no runtime import outside itself', () => {
    const dist = join(consumer, 'node_modules/fulfillment-worker/dist/src');
    const files = readdirSync(dist, { recursive: true }).map(String).sort();
    expect(files).toEqual([
      'client',
      'client/client.d.ts',
      'client/client.js',
      'client/errors.d.ts',
      'client/errors.js',
      'client/index.d.ts',
      'client/index.js',
      'client/types.d.ts',
      'client/types.js',
      'index.d.ts',
      'index.js',
    ]);
    for (const file of files.filter((name) => name.endsWith('.js'))) {
      // Comments out first: they quote import lines a reader would write.
      const source = readFileSync(join(dist, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      const imports = [...source.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1]);
      expect(imports.filter((from) => !from?.startsWith('./') && !from?.startsWith('../'))).toEqual([]);
    }
  });

  it('compiles the docs example with tsc and runs it against the service', async () => {
    await run(process.execPath, [TSC, '-p', consumer], { cwd: consumer });
    const { stdout, stderr } = await run(process.execPath, [join(consumer, 'out/example.js')], {
      cwd: consumer,
      env: { PATH: process.env.PATH ?? '', FULFILLMENT_URL: baseUrl, FULFILLMENT_API_KEY: PRODUCER_KEY },
    });
    expect(stdout + stderr).not.toContain(PRODUCER_KEY);
    const [job, again, view, issues] = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(job).toEqual({
      id: 'vvtool.shop-a.4012345678901234567.all.YT9876543210',
      state: 'waiting',
      duplicate: false,
    });
    expect(again).toMatchObject({ id: job.id, duplicate: true });
    expect(view).toMatchObject({ id: job.id, queue: 'ship' });
    expect(issues).toEqual([{ path: 'tid', message: expect.any(String) }]);

    // The worker ships it through the sandbox; the installed client reads it back.
    const { FulfillmentClient } = await installed();
    const client = new FulfillmentClient({ baseUrl, apiKey: PRODUCER_KEY });
    const done = await until(
      'the job to complete',
      async () => {
        const found = await client.getJob(job.id);
        return found?.state === 'completed' ? found : undefined;
      },
      { timeoutMs: 30_000, everyMs: 100 },
    );
    expect(done).toMatchObject({ name: 'vvtool.send', attemptsMade: 1, lastError: null });
    expect(await client.getJob('vvtool.shop-a.1.all.NOPE00000001')).toBeNull();
    expect(
      await client.batch([
        {
          type: 'ship',
          account: 'shop-a',
          tid: '7',
          shop_id: '88',
          out_sid: 'YT0000000007',
          company_code: 'YTO',
        },
      ]),
    ).toEqual([{ id: 'vvtool.shop-a.7.all.YT0000000007', state: 'waiting', duplicate: false }]);
  }, 60_000);

  it('refuses with a kind and never carries the key', async () => {
    const { FulfillmentClient, FulfillmentError } = await installed();
    const wrongKey = 'not-a-key-SECRET-pack-0004';
    const refused = await new FulfillmentClient({ baseUrl, apiKey: wrongKey })
      .ship({ account: 'shop-a', tid: '1', shop_id: '88', out_sid: 'YT0000000001', company_code: 'YTO' })
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(FulfillmentError);
    expect(refused).toMatchObject({ kind: 'unauthorized', status: 401 });
    expect((refused as Client.FulfillmentError).issues[0]?.path).toBe('authorization');

    const scope = await new FulfillmentClient({ baseUrl, apiKey: PRODUCER_KEY })
      .getJob('../accounts')
      .catch((err: unknown) => err);
    const unreachable = await new FulfillmentClient({ baseUrl: 'http://127.0.0.1:9', apiKey: wrongKey })
      .getJob('x')
      .catch((err: unknown) => err);
    expect(unreachable).toMatchObject({ kind: 'unreachable', status: null });
    for (const err of [refused, scope, unreachable]) {
      const shown = `${inspect(err, { depth: 5 })} ${JSON.stringify(err)} ${String(err)}`;
      expect(shown).not.toContain(wrongKey);
      expect(shown).not.toContain(PRODUCER_KEY);
    }
  });
});
