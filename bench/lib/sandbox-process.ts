import { type SandboxControl, sandboxControl } from '../../src/sandbox/index.js';
import { type BenchAccount, sandboxAccounts } from './accounts.js';
import { type Child, startChild } from './children.js';

export interface SandboxProcess {
  readonly url: string;
  readonly control: SandboxControl;
  readonly child: Child;
  stop(): Promise<void>;
}

/** The sandbox in its own process on 127.0.0.1, knowing `accounts`, enforcing `ratePerSecond` per token. */
export async function startSandboxProcess(
  accounts: readonly BenchAccount[],
  ratePerSecond: number,
): Promise<SandboxProcess> {
  const child = startChild('sandbox', 'bench/lib/sandbox-child.ts', {
    BENCH_SANDBOX_ACCOUNTS: JSON.stringify(sandboxAccounts(accounts)),
    BENCH_SANDBOX_RATE: String(ratePerSecond),
  });
  const ready = await child.ready();
  if (!ready.url?.startsWith('http://127.0.0.1:')) {
    await child.stop();
    throw new Error(`sandbox answered an unexpected url ${String(ready.url)}`);
  }
  return {
    url: ready.url,
    control: sandboxControl(ready.url),
    child,
    async stop() {
      await child.stop();
    },
  };
}
