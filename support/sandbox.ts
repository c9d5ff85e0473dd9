/**
 * The upstream sandbox (`workers/sandbox.ts`) in a process of its own on a free 127.0.0.1 port, as a
 * real upstream would be: its arrival stamps then do not depend on how busy its caller is.
 */
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { type SandboxControl, sandboxControl } from '../src/sandbox/index.js';
import { type ChildHandle, type SpawnOptions, spawnNode, withTail } from './children.js';

export interface SandboxProcess {
  readonly url: string;
  readonly control: SandboxControl;
  readonly child: ChildHandle;
}

/** The repository root, where `workers/sandbox.ts` is run from. */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const START_TIMEOUT_MS = 30_000;

/**
 * Starts it with `env` (the tokens of FULFILLMENT_ACCOUNTS in it are the ones it accepts) and resolves
 * once it prints its URL. Ahead of other processes in the CPU queue when permitted (root): on a
 * 2-core machine its own stalls would otherwise bunch calls that arrived on time.
 */
export async function startSandboxProcess(
  env: NodeJS.ProcessEnv,
  options: Omit<SpawnOptions, 'env'> = {},
): Promise<SandboxProcess> {
  const child = spawnNode('sandbox', 'workers/sandbox.ts', {
    cwd: ROOT,
    ...options,
    env: { ...env, SANDBOX_PORT: '0' },
  });
  try {
    if (child.process.pid !== undefined) setPriority(child.process.pid, -10);
  } catch {
    // Not permitted: run at the default priority.
  }
  try {
    const url = await child.waitFor(
      'printing its URL',
      (output) => /^VVTOOL_BASE_URL=(http:\/\/127\.0\.0\.1:\d+)$/m.exec(output)?.[1],
      START_TIMEOUT_MS,
    );
    return { url, control: sandboxControl(url), child };
  } catch (err) {
    await child.stop({ graceMs: 2_000 });
    throw withTail(err as Error, child);
  }
}
