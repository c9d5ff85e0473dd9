import { setPriority } from 'node:os';
import { type SandboxControl, sandboxControl } from '../../src/sandbox/index.js';
import { type Child, spawnNode } from './processes.js';
import { until } from './wait.js';

/**
 * The sandbox in a process of its own, as a real upstream would be: its arrival stamps then do not
 * depend on how busy the test process is. Accepts the tokens of FULFILLMENT_ACCOUNTS in `env`.
 */
export async function startSandboxProcess(
  env: Record<string, string>,
): Promise<{ url: string; control: SandboxControl; child: Child }> {
  const child = spawnNode('workers/sandbox.ts', { ...env, SANDBOX_PORT: '0' });
  // A real upstream does not share our cores: on a 2-core machine with several busy workers the
  // sandbox's own stalls would delay its arrival stamps and bunch calls that arrived on time. Ahead of
  // the workers in the CPU queue its stamps stay true. Raising priority needs root (CI has it);
  // elsewhere the sandbox keeps the default.
  try {
    if (child.process.pid !== undefined) setPriority(child.process.pid, -10);
  } catch {
    // Not permitted: run at the default priority.
  }
  const url = await until(
    'the sandbox to print its URL',
    () => /VVTOOL_BASE_URL=(\S+)/.exec(child.output())?.[1],
    { timeoutMs: 20_000 },
  );
  return { url, control: sandboxControl(url), child };
}
