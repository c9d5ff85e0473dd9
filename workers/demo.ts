// `npm run demo`: the sandbox and the service wired together, a few hundred jobs with scripted faults
// sent through the HTTP API, progress while they run, a summary, and everything stopped and cleaned up.
// Exits 0 when every invariant held, 1 when one failed or the run could not finish, 2 on a bad option.
import { randomBytes } from 'node:crypto';
import { createWriteStream, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDemoArgs, USAGE } from '../src/demo/args.js';
import { demoPlan } from '../src/demo/plan.js';
import { progressWriter } from '../src/demo/progress.js';
import { deleteKeys, findRedis, redact } from '../src/demo/redis.js';
import { buildReport } from '../src/demo/report.js';
import { runScenario } from '../src/demo/scenario.js';
import {
  demoCredentials,
  recordsInPostgres,
  recordsStored,
  startSandboxProcess,
  startServiceProcess,
} from '../src/demo/stack.js';
import { formatSummary } from '../src/demo/summary.js';

const parsed = parseDemoArgs(process.argv.slice(2));
if (!parsed.ok) {
  process.stderr.write(`demo: ${parsed.error}\n`);
  process.exit(2);
}
const options = parsed.options;
if (options.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const say = (line = '') => process.stdout.write(`${line}\n`);
const started = Date.now();
const prefix = `demo-${randomBytes(4).toString('hex')}`;
const logPath = join(tmpdir(), `fulfillment-${prefix}.log`);
const log = createWriteStream(logPath);

// Ctrl-C (or SIGTERM) stops the run at the next step and cleans up; a second one leaves at once.
const abort = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (abort.signal.aborted) process.exit(130);
    process.stderr.write(`\ndemo: ${signal}: stopping (again to leave at once)\n`);
    abort.abort();
  });
}

/** Run in reverse order of start at the end, each once, whatever happened before. */
const closers: { name: string; close: () => Promise<string | undefined> }[] = [];
let exitCode = 1;
let keepLog = true;
/** Set once a child process may have written to the log. */
let childrenStarted = false;

try {
  exitCode = await main();
  keepLog = exitCode !== 0 || options.keep || options.keepRunning;
} catch (err) {
  // After Ctrl-C the children stop on their own, so a request in flight may fail: that is not news.
  if (abort.signal.aborted) exitCode = 130;
  else process.stderr.write(`demo: ${(err as Error).message}\n`);
} finally {
  keepLog &&= childrenStarted;
  for (const closer of closers.reverse()) {
    try {
      const note = await closer.close();
      if (note) say(note);
    } catch (err) {
      process.stderr.write(`demo: could not stop ${closer.name}: ${(err as Error).message}\n`);
    }
  }
  log.end();
  if (keepLog) say(`Logs of the sandbox and the service: ${logPath}`);
  else rmSync(logPath, { force: true });
}
process.exit(exitCode);

async function main(): Promise<number> {
  const plan = demoPlan();
  const redisUrl = process.env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379';
  const redis = await findRedis({
    url: redisUrl,
    fromEnv: Boolean(process.env.REDIS_URL?.trim()),
    path: process.env.PATH ?? '',
    log,
    note: (line) => say(`demo: ${line}`),
  });
  if ('error' in redis) {
    process.stderr.write(`demo: ${redis.error}\n`);
    return 1;
  }
  closers.push({
    name: 'Redis',
    close: async () => {
      await redis.stop();
      return undefined;
    },
  });
  closers.push({
    name: 'the demo keys',
    close: async () => {
      if (options.keep && redis.lasting) {
        return `Kept the demo's keys: list them with redis-cli -u '${redact(redis.url)}' --scan --pattern '${prefix}:*'`;
      }
      if (options.keep)
        return `--keep: the demo's Redis stops with it, so nothing is kept (set REDIS_URL to keep keys)`;
      if (!redis.lasting) return undefined;
      const deleted = await deleteKeys(redis.url, prefix);
      return `Deleted the demo's ${deleted} keys under prefix ${prefix}.`;
    },
  });

  say(
    `Fulfillment demo: ${plan.jobs.length + 1} jobs on ${plan.accounts.length} sandbox accounts, Redis prefix ${prefix}`,
  );
  say(`  redis      ${redis.description}`);
  say(`  logs       ${logPath}  (the sandbox's and the service's output)`);
  const credentials = demoCredentials(plan.accounts);
  const start = { root, credentials, log, env: process.env };
  childrenStarted = true;
  const sandbox = await startSandboxProcess(start);
  closers.push({
    name: 'the sandbox',
    close: async () => stopped('sandbox', await sandbox.child.stop(5_000)),
  });
  for (const script of plan.scripts)
    await sandbox.control.script(script.provider, script.orderKey, [...script.answers]);
  await sandbox.control.setBalance(plan.held.account, plan.held.balance);
  const accounts = plan.accounts.map((a) => `${a.id} (${a.provider})`).join(', ');
  say(`  sandbox    ${sandbox.url}  vv-tool and damaijia, 10 calls/s per account: ${accounts}`);
  say(
    `             ${plan.scripts.length} orders scripted with faults; ${plan.held.account} starts with ${plan.held.balance} coupons`,
  );

  if (abort.signal.aborted) return 130;
  const service = await startServiceProcess(start, { redisUrl: redis.url, prefix, sandboxUrl: sandbox.url });
  // The service has SHUTDOWN_GRACE_MS=5000 to finish in-flight jobs; SIGKILL only after that and a margin.
  closers.push({
    name: 'the service',
    close: async () => stopped('service', await service.child.stop(10_000)),
  });
  const boardUrl = `${service.url}/admin/queues`;
  say(`  service    ${service.url}  (workers/all.ts: HTTP API, Bull Board, ship and sync workers)`);
  say(`  API key    ${credentials.apiKey}`);
  say(`  Bull Board ${boardUrl}  user ${credentials.adminUser}  password ${credentials.adminPassword}`);
  say(
    (await recordsInPostgres(service.api))
      ? `  records    PostgreSQL, embedded, in ${service.recordsDir} (removed at the end)`
      : '  records    in Redis only: no PostgreSQL installed here (see docs/records.md)',
  );
  const boardStatus = await service.api.board(credentials.adminUser, credentials.adminPassword);
  if (boardStatus !== 200) say(`demo: Bull Board answered ${boardStatus} to the admin login`);
  if (!options.keepRunning)
    say('             (it stops with the demo; run with --keep-running to browse it after the summary)');
  say();

  const scenario = await runScenario({
    api: service.api,
    sandbox: sandbox.control,
    plan,
    progress: progressWriter(process.stdout),
    deadline: started + options.timeoutMs,
    signal: abort.signal,
    started,
  });
  if (scenario.stopped === 'interrupted') return 130;
  if (scenario.stopped !== null) {
    const after = Math.round((Date.now() - started) / 1000);
    process.stderr.write(`demo: gave up after ${after} s: ${scenario.stopped}\n`);
    return 1;
  }

  // The ledger is read from PostgreSQL: everything the run recorded must have reached it.
  await recordsStored(service.api, 30_000);
  const { summary, checks } = await buildReport({
    api: service.api,
    sandbox: sandbox.control,
    plan,
    scenario,
    elapsedMs: Date.now() - started,
    boardUrl,
    adminUser: credentials.adminUser,
  });
  say();
  for (const line of formatSummary(summary)) say(line);
  const failed = checks.filter((check) => !check.ok);
  say(failed.length === 0 ? 'All invariants held.' : `${failed.length} invariant(s) FAILED.`);

  if (options.keepRunning && !abort.signal.aborted) {
    say();
    say(`Still running: Bull Board at ${boardUrl}, the API at ${service.url}. Ctrl-C to stop and clean up.`);
    await new Promise((resolveWait) => abort.signal.addEventListener('abort', resolveWait, { once: true }));
    return failed.length === 0 ? 0 : 1;
  }
  return failed.length === 0 ? 0 : 1;
}

function stopped(
  what: string,
  exit: { code: number | null; signal: NodeJS.Signals | null },
): string | undefined {
  // A clean stop says nothing; anything else is worth a line.
  if (exit.code === 0 || exit.signal === 'SIGTERM' || exit.signal === 'SIGINT') return undefined;
  return `demo: the ${what} stopped with ${exit.signal ?? `code ${exit.code}`}`;
}
