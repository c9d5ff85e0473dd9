import { Redis } from 'ioredis';
import { startPrivateRedis as start } from '../../support/redis.js';

/** A redis-server of the test's own, on a free port, so the test can see every key and set any policy. */
export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /** A connection for the test's own reads. */
  readonly redis: Redis;
  /** Closes the connection and stops the server (SIGTERM, then waits for its exit). */
  stop(): Promise<void>;
}

/** support/redis.ts's private redis-server with `args` added, and a connection to it. */
export async function startPrivateRedis(args: readonly string[] = []): Promise<PrivateRedis> {
  const server = await start({ args });
  const redis = new Redis(server.url, { maxRetriesPerRequest: null });
  await redis.ping();
  return {
    port: server.port,
    url: server.url,
    redis,
    async stop() {
      redis.disconnect();
      await server.stop();
    },
  };
}
