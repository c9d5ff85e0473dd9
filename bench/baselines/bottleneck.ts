import Bottleneck from 'bottleneck';

/**
 * Bottleneck's options as its clustered Redis store reads them. `heartbeatInterval` (how often a
 * clustered limiter polls Redis for queued jobs, default 5000 ms with Redis) is read by the library but
 * missing from its type declarations; this interface names it instead of casting to any.
 */
interface ClusteredOptions extends Bottleneck.ConstructorOptions {
  readonly heartbeatInterval: number;
}

export interface ClusteredLimiters {
  /** The clustered limiter of one account, shared by every process through Redis. */
  get(account: string): Bottleneck;
  /** Disconnects the shared connection (and with it every limiter on it). */
  disconnect(): Promise<void>;
}

/**
 * A plain clustered Bottleneck setup: one limiter per account (id `${idPrefix}-${account}`), all on one
 * shared IORedisConnection of this process, spacing calls `minTime` ms apart.
 */
export function clusteredLimiters(redisUrl: string, idPrefix: string, minTime: number): ClusteredLimiters {
  const { hostname, port, pathname } = new URL(redisUrl);
  const clientOptions = {
    host: hostname,
    port: Number(port || 6379),
    db: Number(pathname.slice(1) || 0),
  };
  const connection = new Bottleneck.IORedisConnection({ clientOptions });
  const limiters = new Map<string, Bottleneck>();
  return {
    get(account) {
      let limiter = limiters.get(account);
      if (!limiter) {
        const options: ClusteredOptions = {
          id: `${idPrefix}-${account}`,
          datastore: 'ioredis',
          clientOptions,
          connection,
          minTime,
          maxConcurrent: null,
          heartbeatInterval: 100,
        };
        limiter = new Bottleneck(options);
        limiters.set(account, limiter);
      }
      return limiter;
    },
    async disconnect() {
      await connection.disconnect();
    },
  };
}
