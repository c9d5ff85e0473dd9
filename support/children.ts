/**
 * The demo's child processes (the sandbox, the service, a private redis-server): started with piped
 * output kept in a log, waited on by what they print, and stopped with SIGTERM, then SIGKILL if they
 * outlive their grace period. Nothing runs at import.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { Writable } from 'node:stream';

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ChildHandle {
  readonly name: string;
  readonly process: ChildProcess;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<Exit>;
  running(): boolean;
  /** The last lines it printed (stdout and stderr), for a message when it fails. */
  tail(lines?: number): string[];
  /**
   * Resolves with the first non-undefined `match` of its output so far, checked on every chunk it
   * prints; rejects when it exits first or after `timeoutMs`.
   */
  waitFor<T>(what: string, match: (output: string) => T | undefined, timeoutMs: number): Promise<T>;
  /** SIGTERM, up to `graceMs` for it to exit, then SIGKILL. Resolves once it is gone. */
  stop(graceMs: number): Promise<Exit>;
}

export interface SpawnOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Where each line goes, prefixed with the name (the demo's log file); optional. */
  readonly log?: Writable;
}

/** Output kept in memory for waitFor: a readiness line comes early, so the start is what matters. */
const KEEP_CHARS = 64 * 1024;
const TAIL_LINES = 200;

export function spawnChild(
  name: string,
  command: string,
  args: readonly string[],
  options: SpawnOptions,
): ChildHandle {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let head = '';
  const tail: string[] = [];
  let partial = '';
  const waiters = new Set<() => void>();
  let exit: Exit | null = null;

  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
      for (const wake of waiters) wake();
    });
    // A failed spawn (no such binary) emits 'error' and no 'exit'.
    child.once('error', (err) => {
      tail.push(`${name}: ${err.message}`);
      exit = { code: null, signal: null };
      resolve(exit);
      for (const wake of waiters) wake();
    });
  });

  const onData = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    if (head.length < KEEP_CHARS) head += text.slice(0, KEEP_CHARS - head.length);
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      options.log?.write(`${name} ${line}\n`);
    }
    for (const wake of waiters) wake();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);

  return {
    name,
    process: child,
    exited,
    running: () => exit === null,
    tail: (lines = 20) => [...tail, ...(partial === '' ? [] : [partial])].slice(-lines),
    waitFor<T>(what: string, match: (output: string) => T | undefined, timeoutMs: number): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined;
        const done = () => {
          waiters.delete(check);
          clearTimeout(timer);
        };
        const check = () => {
          const found = match(head);
          if (found !== undefined) {
            done();
            resolve(found);
          } else if (exit !== null) {
            done();
            reject(new Error(`${name} exited (${describeExit(exit)}) before ${what}`));
          }
        };
        timer = setTimeout(() => {
          done();
          reject(new Error(`${name} did not get to ${what} within ${Math.round(timeoutMs / 1000)} s`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async stop(graceMs: number): Promise<Exit> {
      if (exit !== null) return exit;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (exit === null) child.kill('SIGKILL');
      }, graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

export function describeExit(exit: Exit): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `code ${exit.code ?? 'unknown'}`;
}

/** An unused TCP port on 127.0.0.1, as the OS hands it out. Someone may take it before we do. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (port === 0) throw new Error('could not find a free port on 127.0.0.1');
  return port;
}
