import type { SandboxControl } from '../../src/sandbox/index.js';
import { startSandboxProcess as start } from '../../support/sandbox.js';
import { asChild, type Child } from './processes.js';

/** The sandbox in a process of its own (support/sandbox.ts), accepting the tokens of FULFILLMENT_ACCOUNTS in `env`. */
export async function startSandboxProcess(
  env: Record<string, string>,
): Promise<{ url: string; control: SandboxControl; child: Child }> {
  const sandbox = await start({ PATH: process.env.PATH ?? '', ...env });
  return { url: sandbox.url, control: sandbox.control, child: asChild(sandbox.child) };
}
