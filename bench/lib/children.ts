import { cpSync, createWriteStream, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { spawnChild } from '../../support/children.js';
import { type ChildStats, isToParent, type ToChild, type ToParent } from './protocol.js';

/** The repository root: children run from it so that relative paths resolve alike. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** How many lines of a child's output explain a failure. */
const TAIL_LINES = 40;

export interface Child {
  readonly name: string;
  readonly pid: number;
  /** Resolves on the child's 'ready' message; rejects if it exits first or takes longer than `timeoutMs`. */
  ready(timeoutMs?: number): Promise<Extract<ToParent, { type: 'ready' }>>;
  stats(): Promise<ChildStats>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
  stop(graceMs?: number): Promise<number | null>;
  /** The last lines the child wrote, for error messages. */
  tail(): string;
}

/** Where children's entries are compiled to plain JavaScript (git-ignored). */
const BUILD_DIR = join(ROOT, 'bench', '.build');
const compiled = new Map<string, string>();

/**
 * The entry compiled to one ES module by esbuild (our TypeScript bundled, packages left to
 * node_modules), once per run. Children run it with plain `node`, as a deployment runs the compiled
 * product (`npm run build`, `worker:ship:prod`): tsx would add its loader's CPU and about 35 MB of
 * RSS to every process, product and baseline alike.
 */
function compiledEntry(entry: string): string {
  let out = compiled.get(entry);
  if (out) return out;
  out = join(BUILD_DIR, `${basename(entry, '.ts')}.mjs`);
  buildSync({
    entryPoints: [join(ROOT, entry)],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
  });
  // The bundle reads the Lua scripts from beside itself, as the compiled modules do (one folder: the
  // queues', the limiter's and the ledger's script names differ), and the records' migrations.
  for (const from of ['queues', 'limiter', 'ledger']) {
    cpSync(join(ROOT, 'src', from, 'scripts'), join(BUILD_DIR, 'scripts'), { recursive: true });
  }
  cpSync(join(ROOT, 'src', 'records', 'migrations'), join(BUILD_DIR, 'migrations'), { recursive: true });
  compiled.set(entry, out);
  return out;
}

/**
 * Diagnostics, off by default: BENCH_CPU_PROF=<dir> has the product's children (workers, and the
 * records child: the API side's sink) write a V8 CPU profile there when they exit (see docs/development.md).
 */
function diagnosticFlags(name: string): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  return dir && (name.startsWith('product') || name === 'records')
    ? ['--cpu-prof', `--cpu-prof-dir=${dir}`]
    : [];
}

/**
 * Starts `node <entry compiled>` with an IPC channel. Output is kept (not printed) so the tables
 * stay readable; it is shown when something fails, and with BENCH_LOG_DIR=<dir> also written to
 * <dir>/<child name>.log.
 */
export function startChild(name: string, entry: string, env: Record<string, string>): Child {
  const handle = spawnChild(name, process.execPath, [...diagnosticFlags(name), compiledEntry(entry)], {
    cwd: ROOT,
    // Only what the child needs, plus PATH/HOME for node itself: no stray settings from our shell. No
    // embedded records store unless a benchmark asks for one (its PostgreSQL would be measured too).
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'production',
      EMBEDDED_PG_DIR: 'off',
      ...env,
    },
    ipc: true,
  });
  const proc = handle.process;
  const logDir = process.env.BENCH_LOG_DIR;
  if (logDir) {
    mkdirSync(logDir, { recursive: true });
    proc.stdout?.pipe(createWriteStream(join(logDir, `${name}.log`)));
  }
  const fatal: string[] = [];
  let exitCode: number | null | undefined;
  const exited = handle.exited.then(({ code }) => {
    exitCode = code;
    return code;
  });

  let nextId = 1;
  const pending = new Map<number, (stats: ChildStats) => void>();
  let readyMessage: Extract<ToParent, { type: 'ready' }> | undefined;
  const readyWaiters: Array<(message: Extract<ToParent, { type: 'ready' }>) => void> = [];
  proc.on('message', (raw) => {
    if (!isToParent(raw)) return;
    const message: ToParent = raw;
    if (message.type === 'ready') {
      readyMessage = message;
      for (const waiter of readyWaiters.splice(0)) waiter(message);
    } else if (message.type === 'stats') {
      pending.get(message.id)?.(message.stats);
      pending.delete(message.id);
    } else {
      fatal.push(`fatal: ${message.message}`);
    }
  });

  const tail = () =>
    [...handle.tail(TAIL_LINES).filter((line) => line.trim() !== ''), ...fatal]
      .map((line) => line.slice(0, 400))
      .join('\n');

  return {
    name,
    pid: proc.pid ?? -1,
    tail,
    ready(timeoutMs = 30_000) {
      if (readyMessage) return Promise.resolve(readyMessage);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${name} not ready after ${timeoutMs} ms:\n${tail()}`)),
          timeoutMs,
        );
        readyWaiters.push((message) => {
          clearTimeout(timer);
          resolve(message);
        });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited with ${code} before it was ready:\n${tail()}`));
        });
      });
    },
    stats() {
      if (exitCode !== undefined)
        return Promise.reject(new Error(`${name} has exited (${exitCode}):\n${tail()}`));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${name} did not answer a stats request:\n${tail()}`));
        }, 10_000);
        pending.set(id, (stats) => {
          clearTimeout(timer);
          resolve(stats);
        });
        const request: ToChild = { type: 'stats', id };
        proc.send(request);
      });
    },
    async stop(graceMs = 10_000) {
      return (await handle.stop({ graceMs })).code;
    },
  };
}

/** Waits until every child is ready; on any failure, stops them all and rethrows. */
export async function allReady(children: readonly Child[], timeoutMs = 60_000): Promise<void> {
  try {
    await Promise.all(children.map((child) => child.ready(timeoutMs)));
  } catch (err) {
    await stopAll(children);
    throw err;
  }
}

export async function stopAll(children: readonly Child[], graceMs = 10_000): Promise<void> {
  await Promise.all(children.map((child) => child.stop(graceMs)));
}
