import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { freePort } from '../../support/ports.js';

/** A redis-server of the test's own, on a free port, so the test can see every key and set any policy. */
export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /** A connection for the test's own reads. */
  readonly redis: Redis;
  /** Closes the connection and stops the server (SIGTERM, then waits for its exit). */
  stop(): Promise<void>;
}

/**
 * Starts `redis-server` in the foreground (no persistence) with `args` added, and resolves once it
 * says it is ready. `redis-server` must be on PATH (it is wherever the test suite's Redis is local).
 */
export async function startPrivateRedis(args: readonly string[] = []): Promise<PrivateRedis> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await ready(child);
  const url = `redis://127.0.0.1:${port}`;
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  await redis.ping();
  return {
    port,
    url,
    redis,
    async stop() {
      redis.disconnect();
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Resolves on the server's "Ready to accept connections" line; rejects if it exits or errs first. */
function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('error', (err) => reject(new Error(`cannot start redis-server: ${err.message}`)));
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output.trim()}`)));
  });
}
