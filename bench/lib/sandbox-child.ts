// The sandbox in a process of its own, so its CPU never mixes with the workers' it serves.
// Env: BENCH_SANDBOX_ACCOUNTS (JSON [{token,label,provider}]), BENCH_SANDBOX_RATE (calls/s per token).
import { type SandboxAccount, startSandbox } from '../../src/sandbox/index.js';
import { exitWithParent, tellParent } from './child-side.js';
import { isToChild } from './protocol.js';

const accounts = JSON.parse(process.env.BENCH_SANDBOX_ACCOUNTS ?? '[]') as SandboxAccount[];
const ratePerSecond = Number(process.env.BENCH_SANDBOX_RATE ?? '10');
const sandbox = await startSandbox({ host: '127.0.0.1', port: 0, accounts, ratePerSecond });

process.on('message', (raw) => {
  if (!isToChild(raw)) return;
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  tellParent({
    type: 'stats',
    id: raw.id,
    stats: {
      cpuUserUs: cpu.user,
      cpuSystemUs: cpu.system,
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      completed: 0,
      failed: 0,
      lastCompletedAt: 0,
      byAccount: {},
    },
  });
});
process.once('SIGTERM', () => {
  void sandbox.close().finally(() => process.exit(0));
});
exitWithParent();
tellParent({ type: 'ready', url: sandbox.url });
