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
