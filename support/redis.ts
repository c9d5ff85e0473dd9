/**
 * Finding a Redis for the demo: REDIS_URL (or the local default) when it answers; else a private
 * redis-server on a free port when one is installed; else a container when Docker is there; else one
 * line saying how to get one. Also deletes the demo's keys afterwards. Nothing runs at import.
 */
import { accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { freePort, spawnChild } from './children.js';

export interface DemoRedis {
  readonly url: string;
  /** Where it came from, for the demo's first lines. */
  readonly description: string;
  /** Whether it outlives the demo (keys kept with --keep are then still there to look at). */
  readonly lasting: boolean;
  /** Stops what the demo started (nothing for a Redis it found). */
  stop(): Promise<void>;
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
}

/** The ways to get a Redis; tests replace them. */
export interface RedisSources {
  answers(url: string, timeoutMs: number): Promise<boolean>;
  findBinary(name: string, path: string): string | null;
  startPrivate(binary: string, log?: Writable): Promise<DemoRedis>;
  startContainer(): Promise<DemoRedis>;
}

const PING_TIMEOUT_MS = 1_000;
const CONTAINER_NOTE_AFTER_MS = 2_000;

export async function findRedis(
  options: FindRedisOptions,
  sources: RedisSources = defaultSources,
): Promise<DemoRedis | { error: string }> {
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
      return await sources.startPrivate(binary, options.log);
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
        'install Redis (apt install redis-server, or brew install redis) or set REDIS_URL to one, then run npm run demo again',
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

/** redis-server on a free 127.0.0.1 port, in the foreground as our child, with no persistence. */
export async function startPrivateRedis(binary: string, log?: Writable): Promise<DemoRedis> {
  let last: Error | undefined;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const port = await freePort();
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    args.push('--daemonize', 'no', '--dir', tmpdir());
    const child = spawnChild('redis', binary, args, {
      cwd: tmpdir(),
      env: process.env,
      ...(log ? { log } : {}),
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
        description: `a private redis-server on 127.0.0.1:${port} (stopped when the demo ends)`,
        lasting: false,
        stop: async () => {
          await child.stop(5_000);
        },
      };
    } catch (err) {
      // Most likely the port was taken between finding it and binding it: try another.
      last = err as Error;
      await child.stop(2_000);
    }
  }
  throw last ?? new Error('redis-server did not start');
}

const CONTAINER_TIMEOUT_MS = 120_000;

/** A redis:7 container through testcontainers (a dev dependency: loaded only when needed). */
export async function startRedisContainer(): Promise<DemoRedis> {
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
      description: `a redis:7 container at ${host}:${port} (removed when the demo ends)`,
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

/** Deletes every key under `prefix:`; returns how many. SCAN ends when its cursor comes back to 0. */
export async function deleteKeys(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 5_000 });
  redis.on('error', () => {}); // reported through the failing command below
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
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
