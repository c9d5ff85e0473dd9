import type { Job, Worker } from 'bullmq';
import type { WireWatch } from '../../src/limiter/index.js';
import { type ChildStats, isToChild, type ToParent } from './protocol.js';
import { now } from './time.js';

/** Sends a message to the benchmark that started this process (no-op when run by hand). */
export function tellParent(message: ToParent): void {
  process.send?.(message);
}

/**
 * Counts completions of `workers` and answers the parent's stats requests with them, the process's
 * CPU time and memory. The parent going away ends this process: a benchmark leaves no orphans.
 */
export function serveStats(workers: readonly Worker[], wire?: WireWatch): void {
  let completed = 0;
  let failed = 0;
  let takes = 0;
  let lastCompletedAt = 0;
  const byAccount: Record<string, { completed: number; lastAt: number }> = {};
  for (const worker of workers) {
    worker.on('completed', (job: Job) => {
      const at = now();
      completed += 1;
      lastCompletedAt = at;
      const data: unknown = job.data;
      const account =
        typeof data === 'object' && data !== null ? String((data as { account?: unknown }).account) : '?';
      const entry = byAccount[account] ?? { completed: 0, lastAt: 0 };
      byAccount[account] = entry;
      entry.completed += 1;
      entry.lastAt = at;
    });
    worker.on('failed', () => {
      failed += 1;
    });
    // Each time the worker takes a job from the queue (a parked job back is taken again).
    worker.on('active', () => {
      takes += 1;
    });
  }
  process.on('message', (raw) => {
    if (!isToChild(raw)) return;
    const cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    const stats: ChildStats = {
      cpuUserUs: cpu.user,
      cpuSystemUs: cpu.system,
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      completed,
      failed,
      takes,
      lastCompletedAt,
      byAccount,
      ...(wire ? { wire: { ...wire.stats(), highMs: wire.recentHighMs(), maxMs: wire.recentMaxMs() } } : {}),
    };
    tellParent({ type: 'stats', id: raw.id, stats });
  });
  exitWithParent();
}

/** The IPC channel closes when the parent dies: stop too (SIGTERM runs the process's own shutdown). */
export function exitWithParent(): void {
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
