import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ENV_NAMES, loadConfig } from '../../src/config/index.js';

// No Docker engine here: the compose file, the Dockerfile and the build config are checked as data,
// against the config module (env names and values) and the build's output layout.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface Healthcheck {
  test: string[] | string;
}
interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  ports?: unknown[];
  container_name?: string;
  healthcheck?: Healthcheck;
  depends_on?: Record<string, { condition?: string }>;
  volumes?: string[];
  secrets?: { source: string; target: string }[];
  stop_grace_period?: string;
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file?: string }>;
}

// Merge keys (`<<: *app`) are part of the compose format.
const compose = parse(read('docker-compose.yml'), { merge: true }) as Compose;
const services = compose.services;
const APP_SERVICES = ['api', 'worker-ship', 'worker-sync', 'sandbox'] as const;
const WORKERS = ['worker-ship', 'worker-sync'] as const;
/** Variables read by the sandbox process or by Node itself rather than by the config module. */
const OTHER_NAMES = ['SANDBOX_PORT', 'SANDBOX_HOST', 'NODE_ENV'];

const service = (name: string): Service => {
  const found = services[name];
  if (!found) throw new Error(`no service ${name} in docker-compose.yml`);
  return found;
};
const commandOf = (s: Service): string[] =>
  Array.isArray(s.command) ? s.command : (s.command ?? '').split(/\s+/).filter(Boolean);
const healthText = (s: Service): string => {
  const test = s.healthcheck?.test;
  return Array.isArray(test) ? test.join(' ') : (test ?? '');
};

/** `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?message}`: Compose interpolation. */
const INTERPOLATION = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g;

/** A value as Compose would pass it with `given` set in the shell and everything else unset. */
function interpolate(value: string, given: Record<string, string>): string {
  return value.replace(INTERPOLATION, (_all, name: string, op: string | undefined, rest: string) => {
    const set = given[name];
    if (set !== undefined && set !== '') return set;
    if (op?.endsWith('?')) throw new Error(`${name} is required: ${rest}`);
    return op ? rest : '';
  });
}

/** tsconfig.build.json's mapping of a source file to its output, as tsc applies it. */
const buildConfig = JSON.parse(read('tsconfig.build.json')) as {
  extends: string;
  compilerOptions: { outDir: string; rootDir: string; noEmit?: boolean };
  include: string[];
  exclude: string[];
};
function builtPath(source: string): string {
  const { outDir, rootDir } = buildConfig.compilerOptions;
  return posix.join(outDir, posix.relative(rootDir, source)).replace(/\.ts$/, '.js');
}
const WORKER_ENTRIES = readdirSync(join(ROOT, 'workers'))
  .filter((name) => name.endsWith('.ts'))
  .map((name) => `workers/${name}`);

describe('docker-compose.yml', () => {
  it('has Redis, the API, ship and sync workers, and the sandbox', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'redis', 'sandbox', 'worker-ship', 'worker-sync']);
  });

  it('uses only environment names the product reads', () => {
    const allowed = new Set<string>([...ENV_NAMES, ...OTHER_NAMES]);
    for (const [name, s] of Object.entries(services)) {
      for (const key of Object.keys(s.environment ?? {})) {
        expect(allowed.has(key), `${name}: ${key} is not in ENV_NAMES`).toBe(true);
      }
    }
    // Values taken from the operator's shell pass the same name through, and only known names.
    for (const [name, s] of Object.entries(services)) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        for (const match of String(value).matchAll(INTERPOLATION)) {
          expect(match[1], `${name}: ${key} takes ${match[1]}`).toBe(key);
        }
      }
    }
    const interpolated = [...read('docker-compose.yml').matchAll(INTERPOLATION)].map((m) => m[1]);
    for (const name of interpolated) expect(ENV_NAMES as readonly string[]).toContain(name);
  });

  it('makes API_KEYS, ADMIN_USER and ADMIN_PASSWORD mandatory with a message', () => {
    const env = service('api').environment ?? {};
    for (const name of ['API_KEYS', 'ADMIN_USER', 'ADMIN_PASSWORD']) {
      expect(String(env[name])).toMatch(new RegExp(`^\\$\\{${name}:\\?.{10,}\\}$`));
      expect(() => interpolate(String(env[name]), {})).toThrow(/is required/);
    }
  });

  it('wires every service process to redis and the sandbox, and its settings load', () => {
    const dir = mkdtempSync(join(tmpdir(), 'compose-env-'));
    try {
      const accountsFile = join(dir, 'accounts.json');
      writeFileSync(
        accountsFile,
        JSON.stringify([{ id: 'vv1', provider: 'vvtool', token: 'tok-0123456789' }]),
      );
      const shell = { API_KEYS: 'k'.repeat(24), ADMIN_USER: 'ops', ADMIN_PASSWORD: 'p'.repeat(20) };
      for (const name of ['api', ...WORKERS]) {
        const s = service(name);
        const env = Object.fromEntries(
          Object.entries(s.environment ?? {}).map(([key, value]) => [key, interpolate(String(value), shell)]),
        );
        expect(env.REDIS_URL).toBe('redis://redis:6379');
        expect(env.VVTOOL_BASE_URL).toBe('http://sandbox:3100');
        expect(env.DAMAIJIA_BASE_URL).toBe('http://sandbox:3100');
        // Accounts come from the mounted secret file, at the path the secret is mounted on.
        const target = s.secrets?.find((secret) => secret.source === 'fulfillment-accounts')?.target;
        expect(env.FULFILLMENT_ACCOUNTS_FILE).toBe(`/run/secrets/${target}`);
        const config = loadConfig(
          { ...env, FULFILLMENT_ACCOUNTS_FILE: accountsFile },
          { accounts: true, apiKeys: name === 'api' },
        );
        expect(config.redisUrl).toBe('redis://redis:6379');
        // Docker's stop timeout must leave the process its whole grace period.
        expect(seconds(s.stop_grace_period ?? '10s') * 1000).toBeGreaterThan(config.shutdownGraceMs);
      }
      expect(compose.secrets?.['fulfillment-accounts']?.file).toBeTruthy();
      const sandbox = service('sandbox');
      expect(sandbox.environment?.SANDBOX_PORT).toBe('3100');
      expect(sandbox.environment?.FULFILLMENT_ACCOUNTS_FILE).toBe(
        `/run/secrets/${sandbox.secrets?.[0]?.target}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs Redis 7 with AOF every second and noeviction, on a volume, with a ping healthcheck', () => {
    const redis = service('redis');
    expect(redis.image).toMatch(/^redis:7(\.|$|-)/);
    const command = commandOf(redis).join(' ');
    expect(command).toMatch(/--appendonly yes\b/);
    expect(command).toMatch(/--appendfsync everysec\b/);
    expect(command).toMatch(/--maxmemory-policy noeviction\b/);
    const volume = redis.volumes?.find((v) => v.endsWith(':/data'));
    expect(volume).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(volume?.split(':')[0]);
    expect(healthText(redis)).toMatch(/redis-cli ping/);
  });

  it('has healthchecks: the API on /readyz with node fetch, the sandbox on its control route', () => {
    expect(healthText(service('api'))).toMatch(
      /^CMD node -e .*fetch\('http:\/\/127\.0\.0\.1:3000\/readyz'\)/,
    );
    expect(healthText(service('sandbox'))).toMatch(/fetch\('http:\/\/127\.0\.0\.1:3100\/_sandbox\/report'\)/);
  });

  it('starts services after what they depend on is healthy', () => {
    for (const name of ['api', ...WORKERS]) {
      expect(service(name).depends_on?.redis?.condition, name).toBe('service_healthy');
    }
    for (const name of WORKERS) expect(service(name).depends_on?.sandbox?.condition).toBe('service_healthy');
    for (const [name, s] of Object.entries(services)) {
      for (const [target, { condition }] of Object.entries(s.depends_on ?? {})) {
        if (condition === 'service_healthy') {
          expect(service(target).healthcheck, `${name} waits on ${target}`).toBeDefined();
        }
      }
    }
  });

  it('lets workers scale: no container_name, no host ports', () => {
    for (const name of WORKERS) {
      expect(service(name).container_name).toBeUndefined();
      expect(service(name).ports).toBeUndefined();
    }
  });

  it('runs the built files with node, never tsx', () => {
    const expected: Record<string, string> = {
      api: 'workers/api.ts',
      'worker-ship': 'workers/ship.ts',
      'worker-sync': 'workers/sync.ts',
      sandbox: 'workers/sandbox.ts',
    };
    for (const name of APP_SERVICES) {
      const s = service(name);
      expect(s.build).toBeDefined();
      const source = expected[name]!;
      expect(WORKER_ENTRIES).toContain(source);
      expect(commandOf(s)).toEqual(['node', builtPath(source)]);
    }
    expect(read('docker-compose.yml')).not.toMatch(/\btsx\b/);
  });
});

describe('tsconfig.build.json and the prod scripts', () => {
  it('extends tsconfig.json, emits, and compiles src and workers only', () => {
    expect(buildConfig.extends).toBe('./tsconfig.json');
    expect(buildConfig.compilerOptions.noEmit).not.toBe(true);
    expect(buildConfig.include.sort()).toEqual(['src', 'workers']);
    expect(buildConfig.exclude).toEqual(expect.arrayContaining(['test', 'bench']));
    // bin/fulfill.js loads the built CLI from here.
    expect(builtPath('src/cli/main.ts')).toBe('dist/src/cli/main.js');
    expect(read('bin/fulfill.js')).toContain(`'../${builtPath('src/cli/main.ts')}'`);
  });

  it('has a build script and a node script from dist/ for each tsx one', () => {
    const { scripts } = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    // tsc, then the Lua scripts it does not emit, copied beside the compiled modules.
    expect(scripts.build).toBe('node scripts/build.mjs');
    expect(read('scripts/build.mjs')).toContain("'-p', 'tsconfig.build.json'");
    for (const name of ['start', 'api', 'worker:ship', 'worker:sync', 'sandbox']) {
      const source = /^tsx (workers\/\S+\.ts)$/.exec(scripts[name] ?? '')?.[1];
      expect(source, `${name}: ${scripts[name]}`).toBeDefined();
      expect(scripts[`${name}:prod`]).toBe(`node ${builtPath(source!)}`);
    }
  });
});

describe('Dockerfile', () => {
  const lines = read('Dockerfile')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: string[][] = [];
  for (const line of lines) {
    if (/^FROM\s/i.test(line)) stages.push([]);
    stages.at(-1)?.push(line);
  }
  const runtime = stages.at(-1) ?? [];

  it('builds in one stage and runs in a slim Node 20 stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0]?.[0]).toMatch(/^FROM node:20\S* AS build$/i);
    expect(stages[0]).toContain('RUN npm ci --no-audit --no-fund');
    expect(stages[0]).toContain('RUN npm run build');
    expect(runtime[0]).toMatch(/^FROM node:20-slim\b/i);
    expect(runtime).toContain('COPY --from=build /app/dist ./dist');
  });

  it('has production dependencies only, runs as node, and starts the API from dist without tsx', () => {
    const install = runtime.filter((line) => /^RUN .*npm (ci|install)/.test(line));
    expect(install).toHaveLength(1);
    expect(install[0]).toMatch(/npm ci --omit=dev\b/);
    expect(runtime.some((line) => /npm run build|\btsc\b/.test(line))).toBe(false);
    const user = runtime.findIndex((line) => /^USER\s/.test(line));
    expect(runtime[user]).toBe('USER node');
    const cmd = runtime.filter((line) => /^CMD\s/.test(line));
    expect(cmd).toHaveLength(1);
    expect(runtime.indexOf(cmd[0]!)).toBeGreaterThan(user);
    const argv = JSON.parse(cmd[0]!.slice(4)) as string[];
    expect(argv).toEqual(commandOf(service('api')));
    expect(cmd[0]).not.toMatch(/tsx/);
  });

  it('keeps secrets, local state and build output out of the build context', () => {
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['.git', 'node_modules', 'dist', '.env', 'secrets']) expect(ignored).toContain(entry);
  });
});

describe('docs/operations.md', () => {
  it('names every compose service and the scaling command', () => {
    const doc = read('docs/operations.md');
    for (const name of Object.keys(services)) expect(doc).toContain(name);
    expect(doc).toMatch(/docker compose up [^\n]*--scale worker-ship=\d/);
  });
});

function seconds(duration: string): number {
  const match = /^(\d+)(ms|s|m)$/.exec(duration);
  if (!match) throw new Error(`unreadable duration ${duration}`);
  const value = Number(match[1]);
  return match[2] === 'ms' ? value / 1000 : match[2] === 'm' ? value * 60 : value;
}
