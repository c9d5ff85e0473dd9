/**
 * Redis for tests, benchmarks and the demo: finding one (REDIS_URL or the local default when it
 * answers; else a private redis-server on a free port when one is installed; else a container when
 * Docker is there; else one line saying how to get one), and deleting a run's keys by prefix.
 * Nothing runs at import.
 */
import { accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { spawnChild, withTail } from './children.js';
import { freePort } from './ports.js';

export interface FoundRedis {
  readonly url: string;
  /** Where it came from, for a first line of output. */
  readonly description: string;
  /** Whether it outlives the run (keys kept are then still there to look at). */
  readonly lasting: boolean;
  /** Stops what was started (nothing for a Redis that was found). */
  stop(): Promise<void>;
}

/** REDIS_URL, or the machine's own Redis. */
export function redisUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379';
}

export interface FindRedisOptions {
  readonly url: string;
  /** REDIS_URL was set (rather than the default). */
  readonly fromEnv: boolean;
  /** The PATH to look for redis-server in. */
  readonly path: string;
  /** Where a private redis-server's output goes. */
  readonly log?: Writable;
  /** A line for the user while it looks (e.g. "no Redis at …; starting redis-server"). */
  readonly note: (line: string) => void;
  /** The end of the line said when there is no Redis at all, e.g. "run npm run demo again". */
  readonly nextStep: string;
}

/** The ways to get a Redis; tests replace them. */
export interface RedisSources {
  answers(url: string, timeoutMs: number): Promise<boolean>;
  findBinary(name: string, path: string): string | null;
  startPrivate(options: PrivateRedisOptions): Promise<FoundRedis>;
  startContainer(): Promise<FoundRedis>;
}

const PING_TIMEOUT_MS = 1_000;
const CONTAINER_NOTE_AFTER_MS = 2_000;

export async function findRedis(
  options: FindRedisOptions,
  sources: RedisSources = defaultSources,
): Promise<FoundRedis | { error: string }> {
  const where = redact(options.url);
  if (await sources.answers(options.url, PING_TIMEOUT_MS)) {
    return {
      url: options.url,
      description: `Redis at ${where}${options.fromEnv ? ' (REDIS_URL)' : ''}`,
      lasting: true,
      stop: async () => {},
    };
  }
  const binary = sources.findBinary('redis-server', options.path);
  if (binary !== null) {
    options.note(`no Redis answered at ${where}; starting a private redis-server`);
    try {
      return await sources.startPrivate({ binary, ...(options.log ? { log: options.log } : {}) });
    } catch (err) {
      options.note(`could not start redis-server: ${(err as Error).message}`);
    }
  }
  // Said only if it takes a while (an image pull): without Docker it fails at once, and the one line
  // below is then all the user sees.
  const slow = setTimeout(() => {
    options.note(
      `no Redis answered at ${where}; starting a redis:7 container (the first pull may take a minute)`,
    );
  }, CONTAINER_NOTE_AFTER_MS);
  try {
    return await sources.startContainer();
  } catch (err) {
    const why = (err as Error).message.split('\n')[0]?.slice(0, 160) ?? 'unknown error';
    return {
      error:
        `no Redis answered at ${where}, redis-server is not installed and Docker is not available (${why}); ` +
        `install Redis (apt install redis-server, or brew install redis) or set REDIS_URL to one, then ${options.nextStep}`,
    };
  } finally {
    clearTimeout(slow);
  }
}

/** Does a Redis answer PING at `url` within `timeoutMs`? */
export async function redisAnswers(url: string, timeoutMs: number): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // Refused or timed out: the answer is "no", which the caller acts on; the event must have a listener.
  client.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    const ping = (async () => {
      await client.connect();
      return (await client.ping()) === 'PONG';
    })().catch(() => false);
    return await Promise.race([ping, timeout]);
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

export function findBinary(name: string, path: string): string | null {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory (or not executable): look in the next one.
    }
  }
  return null;
}

const START_ATTEMPTS = 3;
const START_TIMEOUT_MS = 10_000;

export interface PrivateRedisOptions {
  /** Default: `redis-server` from the PATH. */
  readonly binary?: string;
  /** Added to the command line (e.g. a maxmemory policy). */
  readonly args?: readonly string[];
  /** Where its output goes, line by line. */
  readonly log?: Writable;
}

export interface PrivateRedis extends FoundRedis {
  readonly port: number;
}

/**
 * redis-server on a free 127.0.0.1 port, in the foreground as our child, with no persistence; ready
 * once it says so and answers PING. A port taken between finding and binding it: another port.
 */
export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  let last: Error | undefined;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const port = await freePort();
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    args.push('--daemonize', 'no', '--dir', tmpdir(), ...(options.args ?? []));
    const child = spawnChild('redis', options.binary ?? 'redis-server', args, {
      cwd: tmpdir(),
      env: process.env,
      ...(options.log ? { log: options.log } : {}),
    });
    try {
      await child.waitFor(
        'accepting connections',
        (output) => (/Ready to accept connections/.test(output) ? true : undefined),
        START_TIMEOUT_MS,
      );
      const url = `redis://127.0.0.1:${port}`;
      if (!(await redisAnswers(url, PING_TIMEOUT_MS)))
        throw new Error(`redis-server on port ${port} does not answer PING`);
      return {
        url,
        port,
        description: `a private redis-server on 127.0.0.1:${port}`,
        lasting: false,
        stop: async () => {
          await child.stop({ graceMs: 5_000 });
        },
      };
    } catch (err) {
      last = withTail(err as Error, child);
      await child.stop({ graceMs: 2_000 });
      // Only a lost race for the port is worth another try; anything else would fail the same way.
      if (!/Address already in use/.test(child.output())) break;
    }
  }
  throw last ?? new Error('redis-server did not start');
}

const CONTAINER_TIMEOUT_MS = 120_000;

/** A redis:7 container through testcontainers (a dev dependency: loaded only when needed). */
export async function startRedisContainer(): Promise<FoundRedis> {
  const { GenericContainer } = await import('testcontainers');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error('the Redis container did not start within 2 minutes')),
      CONTAINER_TIMEOUT_MS,
    );
  });
  try {
    const container = await Promise.race([
      new GenericContainer('redis:7').withExposedPorts(6379).start(),
      timeout,
    ]);
    const host = container.getHost();
    const port = container.getMappedPort(6379);
    return {
      url: `redis://${host}:${port}`,
      description: `a redis:7 container at ${host}:${port}`,
      lasting: false,
      stop: async () => {
        await container.stop();
      },
    };
  } finally {
    clearTimeout(timer);
  }
}

export const defaultSources: RedisSources = {
  answers: redisAnswers,
  findBinary,
  startPrivate: startPrivateRedis,
  startContainer: startRedisContainer,
};

/** Every key matching any of `patterns` (SCAN MATCH syntax), in pages; SCAN ends when its cursor is 0 again. */
export async function* scanKeys(redis: Redis, patterns: readonly string[]): AsyncGenerator<string[]> {
  for (const pattern of patterns) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }
}

/** Deletes every key matching any of `patterns`; returns how many. */
export async function deleteKeys(redis: Redis, patterns: readonly string[]): Promise<number> {
  let deleted = 0;
  for await (const keys of scanKeys(redis, patterns)) deleted += await redis.unlink(...keys);
  return deleted;
}

/** Deletes every key under `prefix:` (a run's own namespace); returns how many. */
export function deleteByPrefix(redis: Redis, prefix: string): Promise<number> {
  return deleteKeys(redis, [`${prefix}:*`]);
}

/** The URL without its password, for printing. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return '(unparsable REDIS_URL)';
  }
}
