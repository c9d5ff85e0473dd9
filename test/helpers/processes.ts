import type { ChildProcess } from 'node:child_process';
import { basename } from 'node:path';
import { type ChildHandle, spawnNode as spawnNodeChild } from '../../support/children.js';

/** A child process as the tests hold it: its output, and a stop that answers the exit code. */
export interface Child {
  readonly process: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM (or the signal given) and wait for exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function asChild(handle: ChildHandle): Child {
  return {
    process: handle.process,
    output: handle.output,
    stop: async (signal = 'SIGTERM') => (await handle.stop({ signal })).code,
  };
}

/**
 * Starts `node --import tsx <script>` with the given environment (plus PATH, and EMBEDDED_PG_DIR=off
 * unless given: test files run side by side, and their API processes must not each start a
 * PostgreSQL in the same directory; test/records/embedded.test.ts runs the embedded store).
 */
export function spawnNode(script: string, env: Record<string, string>): Child {
  return asChild(
    spawnNodeChild(basename(script, '.ts'), script, {
      env: { PATH: process.env.PATH ?? '', EMBEDDED_PG_DIR: 'off', ...env },
    }),
  );
}
