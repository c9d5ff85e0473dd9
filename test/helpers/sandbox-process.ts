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
  const url = await until(
    'the sandbox to print its URL',
    () => /VVTOOL_BASE_URL=(\S+)/.exec(child.output())?.[1],
    { timeoutMs: 20_000 },
  );
  return { url, control: sandboxControl(url), child };
}
