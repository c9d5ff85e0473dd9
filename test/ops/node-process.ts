import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';

/** A `node …` child process, its stdout and stderr kept apart. */
export interface NodeChild {
  readonly process: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code once it has exited by itself. */
  exited(): Promise<number | null>;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs `node <args>` with exactly `env` (plus PATH, and EMBEDDED_PG_DIR=off unless given, as in
 * test/helpers/processes.ts): no inherited settings, and no `--import tsx` unless `args` asks for it,
 * as a container would run it.
 */
export function spawnNodeProcess(args: readonly string[], env: Record<string, string>): NodeChild {
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', EMBEDDED_PG_DIR: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  // Registered at once, so an exit that happens before anyone asks is not missed.
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return {
    process: child,
    stdout: () => out,
    stderr: () => err,
    exited: () => exit,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exit;
    },
  };
}
