import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { freePort } from '../../support/ports.js';

/**
 * Finds the Redis the tests run against, once for the whole run: REDIS_URL (default the machine's
 * 127.0.0.1:6379) when it answers; otherwise a private `redis-server` on a free port when the binary
 * is installed; otherwise a `redis:7` container through testcontainers when a Docker engine is there;
 * otherwise one clear line saying how to provide Redis.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (await answers(url)) {
    process.env.REDIS_URL = url;
    return undefined;
  }
  const privateServer = await startPrivateRedis();
  if (privateServer) {
    process.env.REDIS_URL = privateServer.url;
    return privateServer.stop;
  }
  let container: { getHost(): string; getMappedPort(port: number): number; stop(): Promise<unknown> };
  try {
    const { GenericContainer } = await import('testcontainers');
    container = await new GenericContainer('redis:7').withExposedPorts(6379).start();
  } catch (err) {
    throw new Error(
      `No Redis at ${url} and no Docker engine for a test container (${(err as Error).message.split('\n')[0]}). ` +
        'Start one with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
    );
  }
  process.env.REDIS_URL = `redis://${container.getHost()}:${container.getMappedPort(6379)}`;
  return async () => {
    await container.stop();
  };
}

async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1_000, maxRetriesPerRequest: 0 });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** A throwaway redis-server of our own (nothing kept on disk), when the binary is on the PATH. */
async function startPrivateRedis(): Promise<{ url: string; stop: () => Promise<void> } | null> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const failed = once(child, 'error').then(() => null);
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    const early = await Promise.race([
      failed,
      new Promise((resolve) => setTimeout(() => resolve('wait'), 100)),
    ]);
    if (early === null) return null;
    if (await answers(url)) {
      return {
        url,
        stop: async () => {
          child.kill('SIGTERM');
        },
      };
    }
  }
  child.kill('SIGKILL');
  return null;
}
