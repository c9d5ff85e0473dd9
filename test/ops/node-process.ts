import type { ChildProcess } from 'node:child_process';
import { spawnChild } from '../../support/children.js';

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
  const child = spawnChild('node', process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', EMBEDDED_PG_DIR: 'off', ...env },
  });
  return {
    process: child.process,
    stdout: child.stdout,
    stderr: child.stderr,
    exited: async () => (await child.exited).code,
    stop: async (signal = 'SIGTERM') => (await child.stop({ signal })).code,
  };
}
