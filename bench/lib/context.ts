import type { Redis } from 'ioredis';
import type { BenchReport } from './table.js';

export interface BenchContext {
  /** A connection for the bench's own reads (INFO, MEMORY USAGE, cleanup). */
  readonly redis: Redis;
  /** Progress lines (stderr), so stdout holds the tables. */
  log(line: string): void;
}

export interface Benchmark {
  readonly name: string;
  readonly title: string;
  run(ctx: BenchContext): Promise<BenchReport>;
}
