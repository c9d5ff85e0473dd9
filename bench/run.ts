// `npm run bench [-- <name>...]`: runs the benchmarks (all, or the named ones) one after another, prints
// each table to stdout and writes its raw figures to bench/results/ (gitignored).
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { enqueue } from './benchmarks/enqueue.js';
import { fairness } from './benchmarks/fairness.js';
import { latency } from './benchmarks/latency.js';
import { limiterBurst } from './benchmarks/limiter-burst.js';
import { limiterMany } from './benchmarks/limiter-many.js';
import { limiterOne } from './benchmarks/limiter-one.js';
import { memory } from './benchmarks/memory.js';
import { pipelineBench } from './benchmarks/pipeline.js';
import { memoryRecords, pipelineRecords, recordsSink } from './benchmarks/records.js';
import { webhooks } from './benchmarks/webhooks.js';
import type { BenchContext, Benchmark } from './lib/context.js';
import { benchRedis } from './lib/redis.js';
import { writeResult } from './lib/results.js';
import { renderTable } from './lib/table.js';
import { now } from './lib/time.js';

const BENCHMARKS: readonly Benchmark[] = [
  limiterOne,
  limiterMany,
  limiterBurst,
  pipelineBench(1),
  pipelineBench(2),
  pipelineRecords,
  webhooks,
  enqueue,
  latency,
  fairness,
  memory,
  memoryRecords,
  recordsSink,
];

const wanted = process.argv.slice(2).filter((arg) => arg !== '--');
// A name picks that benchmark, or the family it heads (`pipeline` → pipeline-1 and pipeline-2).
const picks = (name: string, bench: Benchmark) => bench.name === name || bench.name.startsWith(`${name}-`);
const unknown = wanted.filter((name) => !BENCHMARKS.some((bench) => picks(name, bench)));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown benchmark ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}\n`,
  );
  process.exit(2);
}
const selected =
  wanted.length === 0 ? BENCHMARKS : BENCHMARKS.filter((bench) => wanted.some((name) => picks(name, bench)));

const redis = benchRedis();
const ctx: BenchContext = {
  redis,
  log: (line) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`),
};
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}, Redis ${await redisVersion()}`;
process.stdout.write(
  `# npm run bench ${wanted.join(' ')}\n\n${new Date().toISOString()} on ${machine}; code at ${revision()}\n\n`,
);

const runStart = now();
const summary: Array<{ name: string; seconds: number; ok: boolean; error?: string }> = [];
for (const bench of selected) {
  const start = now();
  ctx.log(`${bench.name}: start`);
  try {
    const report = await bench.run(ctx);
    const seconds = (now() - start) / 1000;
    // Other work on the machine disturbs every figure: say how busy it was.
    const load = loadavg()[0]!.toFixed(1);
    process.stdout.write(
      `${renderTable(report)}\n- took ${seconds.toFixed(1)} s; load average (1 min) at the end ${load}\n\n`,
    );
    writeResult(bench.name, stamp, { ...report, seconds, machine });
    summary.push({ name: bench.name, seconds, ok: true });
  } catch (err) {
    const seconds = (now() - start) / 1000;
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stdout.write(`### ${bench.name}: FAILED after ${seconds.toFixed(1)} s\n\n${message}\n\n`);
    summary.push({ name: bench.name, seconds, ok: false, error: message });
  }
}
const total = (now() - runStart) / 1000;
process.stdout.write(
  `total ${total.toFixed(1)} s; ${summary.filter((s) => s.ok).length}/${summary.length} benchmarks completed\n`,
);
writeResult('run', stamp, { machine, revision: revision(), total, summary });
await redis.quit();
process.exit(summary.every((s) => s.ok) ? 0 : 1);

/** The commit measured, and whether the working tree differed from it (others may be editing). */
function revision(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'workers'], {
      encoding: 'utf8',
    });
    return dirty.trim() === '' ? head : `${head} (src/workers modified)`;
  } catch {
    // Not a git checkout (an unpacked release): the figures still stand, unlabelled.
    return 'unknown revision';
  }
}

async function redisVersion(): Promise<string> {
  const match = /^redis_version:(\S+)/m.exec(await redis.info('server'));
  return match?.[1] ?? 'unknown';
}
