/**
 * Child processes for tests, benchmarks and the demo: started with piped output (kept in memory and,
 * optionally, copied line by line to a log), waited on by what they print, and stopped with a signal,
 * then SIGKILL if they outlive a grace period. Nothing runs at import.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Writable } from 'node:stream';

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface StopOptions {
  /** Default SIGTERM. */
  readonly signal?: NodeJS.Signals;
  /** SIGKILL after this long; without it, waits for as long as the child takes. */
  readonly graceMs?: number;
}

export interface ChildHandle {
  readonly name: string;
  readonly process: ChildProcess;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<Exit>;
  running(): boolean;
  /** Everything it wrote to stdout and stderr so far, in order. */
  output(): string;
  /** What it wrote to stdout alone, and to stderr alone. */
  stdout(): string;
  stderr(): string;
  /** Its last `lines` lines (default 20), for a message when it fails. */
  tail(lines?: number): string[];
  /**
   * Resolves with the first non-undefined `match` of its output so far, checked on every chunk it
   * prints; rejects when it exits first or after `timeoutMs`.
   */
  waitFor<T>(what: string, match: (output: string) => T | undefined, timeoutMs: number): Promise<T>;
  /** Sends the signal, SIGKILL after `graceMs` if given; resolves once it is gone. */
  stop(options?: StopOptions): Promise<Exit>;
}

export interface SpawnOptions {
  /** Default: the current directory. */
  readonly cwd?: string;
  readonly env: NodeJS.ProcessEnv;
  /** Where each line goes, prefixed with the name (the demo's log file); optional. */
  readonly log?: Writable;
  /** Open an IPC channel (for `process.send` both ways), as `fork` does. */
  readonly ipc?: boolean;
}

export function spawnChild(
  name: string,
  command: string,
  args: readonly string[],
  options: SpawnOptions,
): ChildHandle {
  const child = spawn(command, args, {
    cwd: options.cwd ?? process.cwd(),
    env: options.env,
    stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const apart = { stdout: '', stderr: '' };
  let logged = 0;
  const waiters = new Set<() => void>();
  let exit: Exit | null = null;
  const wakeAll = () => {
    for (const wake of waiters) wake();
  };

  const exited = new Promise<Exit>((resolve) => {
    const ended = (code: number | null, signal: NodeJS.Signals | null) => {
      if (exit !== null) return;
      exit = { code, signal };
      resolve(exit);
      wakeAll();
    };
    // 'close': it has exited and its output is all read.
    child.once('close', ended);
    // A failed spawn (no such binary) emits 'error' and no 'exit'.
    child.once('error', (err) => {
      output += `${name}: ${err.message}\n`;
      ended(null, null);
    });
  });

  const onData = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    apart[stream] += text;
    output += text;
    if (options.log) {
      // Whole lines only: what follows the last newline is logged once its line is complete.
      const end = output.lastIndexOf('\n') + 1;
      for (const line of output.slice(logged, end).split('\n').slice(0, -1))
        options.log.write(`${name} ${line}\n`);
      logged = Math.max(logged, end);
    }
    wakeAll();
  };
  child.stdout?.on('data', onData('stdout'));
  child.stderr?.on('data', onData('stderr'));

  return {
    name,
    process: child,
    exited,
    running: () => exit === null,
    output: () => output,
    stdout: () => apart.stdout,
    stderr: () => apart.stderr,
    tail: (lines = 20) => output.replace(/\n$/, '').split('\n').slice(-lines),
    waitFor: (what, match, timeoutMs) =>
      waitForOutput(
        name,
        () => output,
        () => exit,
        waiters,
        what,
        match,
        timeoutMs,
      ),
    async stop({ signal = 'SIGTERM', graceMs }: StopOptions = {}): Promise<Exit> {
      if (exit !== null) return exit;
      child.kill(signal);
      const timer =
        graceMs === undefined
          ? undefined
          : setTimeout(() => {
              if (exit === null) child.kill('SIGKILL');
            }, graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

function waitForOutput<T>(
  name: string,
  output: () => string,
  exit: () => Exit | null,
  waiters: Set<() => void>,
  what: string,
  match: (output: string) => T | undefined,
  timeoutMs: number,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      waiters.delete(check);
      clearTimeout(timer);
    };
    const check = () => {
      const found = match(output());
      const exitedWith = exit();
      if (found !== undefined) {
        done();
        resolve(found);
      } else if (exitedWith !== null) {
        done();
        reject(new Error(`${name} exited (${describeExit(exitedWith)}) before ${what}`));
      }
    };
    timer = setTimeout(() => {
      done();
      reject(new Error(`${name} did not get to ${what} within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    waiters.add(check);
    check();
  });
}

/** `node --import tsx <script>` (a TypeScript entry point of this repository). */
export function spawnNode(name: string, script: string, options: SpawnOptions): ChildHandle {
  return spawnChild(name, process.execPath, ['--import', 'tsx', script], options);
}

export function describeExit(exit: Exit): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `code ${exit.code ?? 'unknown'}`;
}

/** Adds what the child printed last to the error: its own one-line reason is usually there. */
export function withTail(err: Error, child: ChildHandle): Error {
  const tail = child.tail(8).filter((line) => line.trim() !== '');
  return new Error(tail.length === 0 ? err.message : `${err.message}; it printed:\n  ${tail.join('\n  ')}`);
}
