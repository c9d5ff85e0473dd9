// A records sink that stops dead after its first commit of HANG_AFTER (entries or events), before
// Redis hears of it: the parent kills it there with SIGKILL.
import { Redis } from 'ioredis';
import { createPool } from '../../src/records/pool.js';
import { RecordsSink } from '../../src/records/sink.js';

const redis = new Redis(process.env.REDIS_URL ?? '', { maxRetriesPerRequest: null });
const pool = createPool(process.env.DATABASE_URL ?? '', () => {});
const sink = new RecordsSink({
  redis,
  pool,
  prefix: process.env.PREFIX ?? '',
  batch: Number(process.env.BATCH ?? '100'),
  async afterCommit(what, count) {
    if (what !== process.env.HANG_AFTER || count === 0) return;
    process.stdout.write(`committed ${what} ${count}\n`);
    await new Promise(() => {});
  },
});
await sink.drain();
process.stdout.write('drained\n');
