import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ENV_NAMES, loadConfig, parseAccounts } from '../../src/config/index.js';
import { healthcheckArgv } from './dockerfile.js';

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
  depends_on?: Record<string, { condition?: string; required?: boolean }> | string[];
  profiles?: string[];
  expose?: string[];
  volumes?: string[];
  secrets?: { source: string; target: string }[];
  stop_grace_period?: string;
}
interface Compose {
  name?: string;
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
/** Variables Compose itself takes from the operator's shell for what is not a product setting. */
const COMPOSE_ONLY = {
  NODE_ENV: 'production unless the sandbox trial says otherwise',
  REDIS_MAXMEMORY: "Redis's maxmemory",
  POSTGRES_PASSWORD: "the database's password",
  FULFILLMENT_ACCOUNTS_SECRET: 'which file the accounts secret is (the sandbox trial: its sample accounts)',
} as const;
const SANDBOX_ENV_FILE = 'deploy/sandbox/sandbox.env';

/** depends_on in its long form (the short list form is a list of service names). */
const dependsOn = (s: Service): Record<string, { condition?: string; required?: boolean }> =>
  Array.isArray(s.depends_on)
    ? Object.fromEntries(s.depends_on.map((name) => [name, {}]))
    : (s.depends_on ?? {});
/** `KEY=value` lines of an env file, comments and blank lines skipped. */
const envFile = (path: string): Record<string, string> =>
  Object.fromEntries(
    read(path)
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );

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
  it('runs Redis, PostgreSQL, the API and the workers by default; the sandbox and monitoring under profiles', () => {
    const byProfile = (profile: string | undefined) =>
      Object.entries(services)
        .filter(([, s]) => (profile === undefined ? s.profiles === undefined : s.profiles?.includes(profile)))
        .map(([name]) => name)
        .sort();
    expect(byProfile(undefined)).toEqual(['api', 'postgres', 'redis', 'worker-ship', 'worker-sync']);
    expect(byProfile('sandbox')).toEqual(['sandbox']);
    expect(byProfile('monitoring')).toEqual(['grafana', 'prometheus']);
  });

  it('uses only environment names the product reads', () => {
    const allowed = new Set<string>([...ENV_NAMES, ...OTHER_NAMES]);
    for (const name of APP_SERVICES) {
      for (const key of Object.keys(service(name).environment ?? {})) {
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
    const known = [...ENV_NAMES, ...Object.keys(COMPOSE_ONLY)];
    const interpolated = [...read('docker-compose.yml').matchAll(INTERPOLATION)].map((m) => m[1]);
    for (const name of interpolated) expect(known).toContain(name);
  });

  it('makes the upstreams, the keys and the passwords mandatory with a message, with no default', () => {
    const required: Record<string, string[]> = {
      api: [
        'VVTOOL_BASE_URL',
        'DAMAIJIA_BASE_URL',
        'API_KEYS',
        'ADMIN_USER',
        'ADMIN_PASSWORD',
        'DATABASE_URL',
      ],
      'worker-ship': ['VVTOOL_BASE_URL', 'DAMAIJIA_BASE_URL', 'DATABASE_URL'],
      'worker-sync': ['VVTOOL_BASE_URL', 'DAMAIJIA_BASE_URL', 'DATABASE_URL'],
      postgres: ['POSTGRES_PASSWORD'],
    };
    for (const [name, keys] of Object.entries(required)) {
      const env = service(name).environment ?? {};
      for (const key of keys) {
        expect(String(env[key]), `${name}: ${key}`).toMatch(new RegExp(`^\\$\\{${key}:\\?.{10,}\\}$`));
        expect(() => interpolate(String(env[key]), {})).toThrow(/is required/);
      }
    }
    // Nothing in the default profile names the sandbox as an upstream.
    for (const name of ['api', ...WORKERS]) {
      expect(JSON.stringify(service(name).environment)).not.toMatch(/sandbox:3100/);
    }
  });

  it('never hands the sandbox the real accounts file: it has sample tokens of its own', () => {
    const sandbox = service('sandbox');
    expect(sandbox.secrets?.map((secret) => secret.source)).toEqual(['sandbox-accounts']);
    expect(sandbox.environment?.FULFILLMENT_ACCOUNTS_FILE).toBe(
      `/run/secrets/${sandbox.secrets?.[0]?.target}`,
    );
    // Its file is a fixed one in the repository, not one the operator's shell can point elsewhere.
    const file = compose.secrets?.['sandbox-accounts']?.file ?? '';
    expect(file).toBe('./deploy/sandbox/accounts.json');
    const samples = parseAccounts(read(file), 'sandbox-accounts');
    expect(samples.length).toBeGreaterThanOrEqual(2);
    for (const account of samples) expect(account.token.reveal()).toMatch(/^sandbox-sample-.*-not-real$/);
    // The real accounts secret defaults to the operator's file, never the samples.
    expect(interpolate(compose.secrets?.['fulfillment-accounts']?.file ?? '', {})).toBe(
      './secrets/accounts.json',
    );
    // A test double never runs as production.
    expect(sandbox.environment?.NODE_ENV).toBe('development');
  });

  it('runs the sandbox trial apart: its own project, prefix, sample accounts and upstream', () => {
    const trial = envFile(SANDBOX_ENV_FILE);
    expect(trial.COMPOSE_PROFILES).toBe('sandbox');
    expect(trial.COMPOSE_PROJECT_NAME).not.toBe(compose.name);
    expect(trial.FULFILLMENT_PREFIX).not.toBe('fulfillment');
    expect(trial.FULFILLMENT_ACCOUNTS_SECRET).toBe(compose.secrets?.['sandbox-accounts']?.file);
    expect(trial.NODE_ENV).not.toBe('production');
    for (const name of ['api', ...WORKERS]) {
      const env = Object.fromEntries(
        Object.entries(service(name).environment ?? {}).map(([key, value]) => [
          key,
          interpolate(String(value), trial),
        ]),
      );
      expect(env.VVTOOL_BASE_URL).toBe('http://sandbox:3100');
      expect(env.DAMAIJIA_BASE_URL).toBe('http://sandbox:3100');
      const config = loadConfig(
        { ...env, FULFILLMENT_ACCOUNTS_FILE: join(ROOT, trial.FULFILLMENT_ACCOUNTS_SECRET!) },
        { accounts: true, apiKeys: name === 'api' },
      );
      expect(config.accounts.map((account) => account.id).sort()).toEqual(['sample-dm', 'sample-vv']);
      expect(config.prefix).toBe(trial.FULFILLMENT_PREFIX);
    }
    // Workers wait for the sandbox when it runs, and do not need it when it does not.
    for (const name of WORKERS)
      expect(dependsOn(service(name)).sandbox).toEqual({ condition: 'service_healthy', required: false });
  });

  it('wires every service process to redis and the upstreams the shell names, and its settings load', () => {
    const dir = mkdtempSync(join(tmpdir(), 'compose-env-'));
    try {
      const accountsFile = join(dir, 'accounts.json');
      writeFileSync(
        accountsFile,
        JSON.stringify([{ id: 'vv1', provider: 'vvtool', token: 'tok-0123456789' }]),
      );
      const shell = {
        API_KEYS: 'k'.repeat(24),
        ADMIN_USER: 'ops',
        ADMIN_PASSWORD: 'p'.repeat(20),
        VVTOOL_BASE_URL: 'https://api.vv-tool.example',
        DAMAIJIA_BASE_URL: 'https://damaijia.example',
        DATABASE_URL: 'postgres://fulfillment:secret-password@postgres:5432/fulfillment',
      };
      for (const name of ['api', ...WORKERS]) {
        const s = service(name);
        const env = Object.fromEntries(
          Object.entries(s.environment ?? {}).map(([key, value]) => [key, interpolate(String(value), shell)]),
        );
        expect(env.REDIS_URL).toBe('redis://redis:6379');
        expect(env.VVTOOL_BASE_URL).toBe(shell.VVTOOL_BASE_URL);
        expect(env.DAMAIJIA_BASE_URL).toBe(shell.DAMAIJIA_BASE_URL);
        expect(env.NODE_ENV).toBe('production');
        // Accounts come from the mounted secret file, at the path the secret is mounted on.
        const target = s.secrets?.find((secret) => secret.source === 'fulfillment-accounts')?.target;
        expect(env.FULFILLMENT_ACCOUNTS_FILE).toBe(`/run/secrets/${target}`);
        const config = loadConfig(
          { ...env, FULFILLMENT_ACCOUNTS_FILE: accountsFile },
          { accounts: true, apiKeys: name === 'api' },
        );
        expect(config.redisUrl).toBe('redis://redis:6379');
        expect(config.vvtoolBaseUrl).toBe(shell.VVTOOL_BASE_URL);
        // Docker's stop timeout must leave the process its whole grace period.
        expect(seconds(s.stop_grace_period ?? '10s') * 1000).toBeGreaterThan(config.shutdownGraceMs);
      }
      expect(compose.secrets?.['fulfillment-accounts']?.file).toBeTruthy();
      expect(service('sandbox').environment?.SANDBOX_PORT).toBe('3100');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs Redis 7 with AOF every second, a maxmemory with noeviction, on a volume, with a ping healthcheck', () => {
    const redis = service('redis');
    expect(redis.image).toMatch(/^redis:7(\.|$|-)/);
    const command = interpolate(commandOf(redis).join(' '), {});
    expect(command).toMatch(/--appendonly yes\b/);
    expect(command).toMatch(/--appendfsync everysec\b/);
    expect(command).toMatch(/--maxmemory-policy noeviction\b/);
    // A limit Redis enforces by refusing writes, rather than the kernel's OOM killer.
    expect(command).toMatch(/--maxmemory \d+(gb|mb)\b/);
    expect(interpolate(commandOf(redis).join(' '), { REDIS_MAXMEMORY: '4gb' })).toMatch(/--maxmemory 4gb\b/);
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

  it('runs PostgreSQL on a volume with a pg_isready healthcheck', () => {
    const postgres = service('postgres');
    expect(postgres.image).toMatch(/^postgres:\d+/);
    const volume = postgres.volumes?.find((v) => v.endsWith(':/var/lib/postgresql/data'));
    expect(Object.keys(compose.volumes ?? {})).toContain(volume?.split(':')[0]);
    expect(healthText(postgres)).toMatch(/pg_isready/);
  });

  it('runs Prometheus and Grafana provisioned from deploy/, on loopback host ports only', () => {
    const prometheus = service('prometheus');
    const mount = prometheus.volumes?.find((v) => v.startsWith('./deploy/prometheus:'));
    expect(mount).toBe('./deploy/prometheus:/etc/prometheus:ro');
    expect(commandOf(prometheus)).toContain('--config.file=/etc/prometheus/prometheus.yml');
    read('deploy/prometheus/prometheus.yml');
    const grafana = service('grafana');
    expect(grafana.volumes).toEqual(
      expect.arrayContaining([
        './deploy/grafana/provisioning:/etc/grafana/provisioning:ro',
        './deploy/grafana/dashboards:/etc/grafana/dashboards:ro',
      ]),
    );
    const provider = parse(read('deploy/grafana/provisioning/dashboards/fulfillment.yml')) as {
      providers: { options: { path: string } }[];
    };
    expect(provider.providers[0]?.options.path).toBe('/etc/grafana/dashboards');
    const datasource = parse(read('deploy/grafana/provisioning/datasources/prometheus.yml')) as {
      datasources: { url: string }[];
    };
    expect(datasource.datasources[0]?.url).toBe('http://prometheus:9090');
    for (const name of ['prometheus', 'grafana']) {
      for (const port of service(name).ports ?? []) expect(String(port), name).toMatch(/^127\.0\.0\.1:/);
    }
  });

  it("exposes each worker's METRICS_PORT where the scrape config looks for it", () => {
    const scrape = parse(read('deploy/prometheus/prometheus.yml')) as {
      scrape_configs: { job_name: string; dns_sd_configs: { names: string[]; port: number }[] }[];
    };
    const workers = scrape.scrape_configs.find((job) => job.job_name === 'fulfillment-workers');
    for (const name of WORKERS) {
      const port = String(service(name).environment?.METRICS_PORT);
      expect(workers?.dns_sd_configs[0]?.names).toContain(name);
      expect(String(workers?.dns_sd_configs[0]?.port)).toBe(port);
      expect(service(name).expose).toContain(port);
    }
  });

  it('starts services after what they depend on is healthy', () => {
    for (const name of ['api', ...WORKERS]) {
      expect(dependsOn(service(name)).redis?.condition, name).toBe('service_healthy');
      expect(dependsOn(service(name)).postgres?.condition, name).toBe('service_healthy');
    }
    for (const [name, s] of Object.entries(services)) {
      for (const [target, { condition }] of Object.entries(dependsOn(s))) {
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
  // Continuation lines joined first: `HEALTHCHECK … \` + `CMD […]` is one instruction.
  const lines = read('Dockerfile')
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: string[][] = [];
  for (const line of lines) {
    if (/^FROM\s/i.test(line)) stages.push([]);
    stages.at(-1)?.push(line);
  }
  const runtime = stages.at(-1) ?? [];

  it('builds in one stage and runs in a slim stage, both on a current Node LTS (22 or 24)', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0]?.[0]).toMatch(/^FROM node:(22|24)\S* AS build$/i);
    expect(stages[0]).toContain('RUN npm ci --no-audit --no-fund');
    expect(stages[0]).toContain('RUN npm run build');
    expect(runtime[0]).toMatch(/^FROM node:(22|24)-slim\b/i);
    expect(runtime).toContain('COPY --from=build /app/dist ./dist');
    // The same code still runs on the Node 20 these tests run on.
    const { engines } = JSON.parse(read('package.json')) as { engines: { node: string } };
    expect(engines.node).toMatch(/^>=20\./);
  });

  it('has a HEALTHCHECK that probes /healthz of whichever process the container runs', () => {
    const checks = runtime.filter((line) => /^HEALTHCHECK\s/.test(line));
    expect(checks).toHaveLength(1);
    const argv = healthcheckArgv(read('Dockerfile'));
    expect(argv.slice(0, 2)).toEqual(['node', '-e']);
    expect(argv[2]).toMatch(/process\.env\.PORT \|\| 3000/);
    expect(argv[2]).toMatch(/process\.env\.METRICS_PORT \|\| 9464/);
    expect(argv[2]).toContain('/healthz');
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
    for (const entry of ['.git', 'node_modules', 'dist', '.env', 'secrets', 'deploy', '*.env']) {
      expect(ignored).toContain(entry);
    }
  });
});

describe('docs/operations.md', () => {
  it('names every compose service, the scaling, monitoring and sandbox trial commands', () => {
    const doc = read('docs/operations.md');
    for (const name of Object.keys(services)) expect(doc).toContain(name);
    expect(doc).toMatch(/docker compose up [^\n]*--scale worker-ship=\d/);
    expect(doc).toMatch(/docker compose --profile monitoring up/);
    expect(doc).toContain(`docker compose --env-file ${SANDBOX_ENV_FILE} up`);
    for (const name of Object.keys(COMPOSE_ONLY)) expect(doc).toContain(name);
  });
});

function seconds(duration: string): number {
  const match = /^(\d+)(ms|s|m)$/.exec(duration);
  if (!match) throw new Error(`unreadable duration ${duration}`);
  const value = Number(match[1]);
  return match[2] === 'ms' ? value / 1000 : match[2] === 'm' ? value * 60 : value;
}
