// `npm run demo`: the sandbox and the service wired together, a few hundred jobs with scripted faults
// sent through the HTTP API, progress while they run, a summary, and everything stopped and cleaned up.
// Exits 0 when the run settled and reconciled, 1 when it did not or could not start, 2 on a bad option.
import { randomBytes } from 'node:crypto';
import { createWriteStream, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { Exit } from '../support/children.js';
import { deleteByPrefix, type FoundRedis, findRedis, redact, redisUrl } from '../support/redis.js';
import { parseDemoArgs, USAGE } from './args.js';
import { demoPlan } from './plan.js';
import { buildReport } from './report.js';
import { progressWriter, runScenario } from './scenario.js';
import {
  demoCredentials,
  fetchOr,
  recordsInPostgres,
  recordsStored,
  startSandbox,
  startService,
} from './stack.js';

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

/** Run in reverse order of start at the end, each once, whatever happened before; each may say a line. */
const closers: { name: string; close: () => Promise<string | undefined> }[] = [];
let exitCode = 1;
let keepLog = true;
try {
  exitCode = await main();
  keepLog = exitCode !== 0 || options.keep || options.keepRunning;
} catch (err) {
  // After Ctrl-C the children stop on their own, so a request in flight may fail: that is not news.
  if (abort.signal.aborted) exitCode = 130;
  else process.stderr.write(`demo: ${(err as Error).message}\n`);
} finally {
  // A run that failed before anything wrote to the log has nothing in it to look at.
  keepLog &&= log.bytesWritten + log.writableLength > 0;
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
  const redis = await findRedis({
    url: redisUrl(),
    fromEnv: Boolean(process.env.REDIS_URL?.trim()),
    path: process.env.PATH ?? '',
    log,
    note: (line) => say(`demo: ${line}`),
    nextStep: 'run npm run demo again',
  });
  if ('error' in redis) {
    process.stderr.write(`demo: ${redis.error}\n`);
    return 1;
  }
  closers.push({ name: 'Redis', close: async () => void (await redis.stop()) });
  closers.push({ name: 'the demo keys', close: () => cleanKeys(redis) });

  say(
    `Fulfillment demo: ${plan.jobs.length + 1} jobs on ${plan.accounts.length} sandbox accounts, Redis prefix ${prefix}`,
  );
  say(`  redis      ${redis.description}${redis.lasting ? '' : ' (stopped when the demo ends)'}`);
  say(`  logs       ${logPath}  (the sandbox's and the service's output)`);
  const credentials = demoCredentials(plan.accounts);
  const stack = { root, credentials, log, env: process.env };
  const sandbox = await startSandbox(stack);
  closers.push({
    name: 'the sandbox',
    close: async () => stopped('sandbox', await sandbox.child.stop({ graceMs: 5_000 })),
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
  const service = await startService(stack, { redisUrl: redis.url, prefix, sandboxUrl: sandbox.url });
  // The service has SHUTDOWN_GRACE_MS=5000 to finish in-flight jobs; SIGKILL only after that and a margin.
  closers.push({
    name: 'the service',
    close: async () => stopped('service', await service.child.stop({ graceMs: 10_000 })),
  });
  const boardUrl = `${service.url}/admin/queues`;
  say(`  service    ${service.url}  (workers/all.ts: HTTP API, Bull Board, ship and sync workers)`);
  say(`  API key    ${credentials.apiKey}`);
  say(`  Bull Board ${boardUrl}  user ${credentials.adminUser}  password ${credentials.adminPassword}`);
  say(
    (await recordsInPostgres(service))
      ? `  records    PostgreSQL, embedded, in ${service.recordsDir} (removed at the end)`
      : '  records    in Redis only: no PostgreSQL installed here (see docs/records.md)',
  );
  const basic = Buffer.from(`${credentials.adminUser}:${credentials.adminPassword}`).toString('base64');
  const board = await fetchOr(boardUrl, { headers: { authorization: `Basic ${basic}` } }, 15_000);
  if (board?.status !== 200)
    say(`demo: Bull Board answered ${board?.status ?? 'nothing'} to the admin login`);
  if (!options.keepRunning)
    say('             (it stops with the demo; run with --keep-running to browse it after the summary)');
  say();

  const scenario = await runScenario({
    service,
    sandbox: sandbox.control,
    plan,
    progress: progressWriter(process.stdout),
    started,
    deadline: started + options.timeoutMs,
    signal: abort.signal,
  });
  if (scenario.stopped === 'interrupted') return 130;
  if (scenario.stopped !== null) {
    process.stderr.write(
      `demo: gave up after ${Math.round((Date.now() - started) / 1000)} s: ${scenario.stopped}\n`,
    );
    return 1;
  }
  // The ledger is read from PostgreSQL: everything the run recorded must have reached it.
  await recordsStored(service, 30_000);
  const report = await buildReport({
    service,
    sandbox: sandbox.control,
    plan,
    scenario,
    elapsedMs: Date.now() - started,
    adminUser: credentials.adminUser,
  });
  say();
  for (const line of report.lines) say(line);
  if (options.keepRunning && !abort.signal.aborted) {
    say();
    say(`Still running: Bull Board at ${boardUrl}, the API at ${service.url}. Ctrl-C to stop and clean up.`);
    await new Promise((resolveWait) => abort.signal.addEventListener('abort', resolveWait, { once: true }));
  }
  return report.ok ? 0 : 1;
}

async function cleanKeys(redis: FoundRedis): Promise<string | undefined> {
  if (options.keep && redis.lasting)
    return `Kept the demo's keys: list them with redis-cli -u '${redact(redis.url)}' --scan --pattern '${prefix}:*'`;
  if (options.keep)
    return `--keep: the demo's Redis stops with it, so nothing is kept (set REDIS_URL to keep keys)`;
  if (!redis.lasting) return undefined;
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  client.on('error', () => {}); // reported through the failing command
  const deleted = await deleteByPrefix(client, prefix).finally(() => client.disconnect());
  return `Deleted the demo's ${deleted} keys under prefix ${prefix}.`;
}

/** A clean stop says nothing; anything else is worth a line. */
function stopped(what: string, exit: Exit): string | undefined {
  if (exit.code === 0 || exit.signal === 'SIGTERM' || exit.signal === 'SIGINT') return undefined;
  return `demo: the ${what} stopped with ${exit.signal ?? `code ${exit.code}`}`;
}
