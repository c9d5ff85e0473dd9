import type { Redis } from 'ioredis';
import type { Child } from './children.js';
import type { ChildStats } from './protocol.js';
import { redisCpuSeconds } from './redis.js';
import { now } from './time.js';

/** CPU used so far by a set of processes and by Redis, at one moment. */
export interface CpuSnapshot {
  readonly at: number;
  /** Sum over the children of user + system, ms. */
  readonly childrenMs: number;
  readonly redisMs: number;
  readonly stats: readonly ChildStats[];
}

export async function cpuSnapshot(children: readonly Child[], redis: Redis): Promise<CpuSnapshot> {
  const [stats, redisSeconds] = await Promise.all([
    Promise.all(children.map((child) => child.stats())),
    redisCpuSeconds(redis),
  ]);
  return {
    at: now(),
    childrenMs: stats.reduce((total, s) => total + (s.cpuUserUs + s.cpuSystemUs) / 1000, 0),
    redisMs: redisSeconds * 1000,
    stats,
  };
}

/** CPU between two snapshots, ms, and the share of one core it represents. */
export function cpuBetween(from: CpuSnapshot, to: CpuSnapshot) {
  const wallMs = to.at - from.at;
  return {
    wallMs,
    childrenMs: to.childrenMs - from.childrenMs,
    redisMs: to.redisMs - from.redisMs,
    childrenCores: (to.childrenMs - from.childrenMs) / wallMs,
    redisCores: (to.redisMs - from.redisMs) / wallMs,
  };
}

export function totalCompleted(stats: readonly ChildStats[]): number {
  return stats.reduce((total, s) => total + s.completed, 0);
}

/**
 * The product workers' check-to-wire times, for a note: the worst recent p99 and max of the
 * processes (ms), and how many calls were timed.
 */
export async function wireNote(workers: readonly Child[]): Promise<string> {
  const stats = await Promise.all(workers.map((worker) => worker.stats()));
  const wires = stats.flatMap((s) => (s.wire ? [s.wire] : []));
  if (wires.length === 0) return 'check-to-wire: not reported';
  const sends = wires.reduce((sum, w) => sum + w.sends, 0);
  const high = Math.max(...wires.map((w) => w.highMs));
  const max = Math.max(...wires.map((w) => w.maxMs));
  const connections = wires.reduce((sum, w) => sum + w.connections, 0);
  return `Product check-to-wire (lateness check to the request handed to its socket), recent calls per process, worst process: p99 ${high.toFixed(2)} ms, max ${max.toFixed(2)} ms (${sends} calls timed; ${connections} connections opened to the upstream, so ${((100 * connections) / Math.max(1, sends)).toFixed(1)}% of calls needed a new socket).`;
}
