import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeAccounts } from '../lib/accounts.js';
import type { Benchmark } from '../lib/context.js';
import { withRig } from '../lib/rig.js';
import { startSandboxProcess } from '../lib/sandbox-process.js';
import { fmt, met, ratio } from '../lib/table.js';
import { now } from '../lib/time.js';
import { ACCOUNTS, HIGH_RATE, JOBS, type Measured, measure } from './pipeline.js';

const PROCESSES = 2;

/**
 * The pipeline with webhooks on against the same pipeline with them off, in one run: 20,000 jobs
 * on 2 product worker processes, every completion an event delivered, signed, to a receiver on
 * loopback that answers 204 at once. Goal: shipping with deliveries ≥ 0.9 × shipping without.
 */
export const webhooks: Benchmark = {
  name: 'webhooks',
  title: `${fmt(JOBS)} jobs, ${PROCESSES} worker processes, webhooks on against off`,
  run: (ctx) =>
    withRig(ctx, async (rig) => {
      const accounts = makeAccounts('w', ACCOUNTS, HIGH_RATE);
      const sandbox = await startSandboxProcess(accounts, 1e9);
      rig.track(sandbox.child);
      const received = new Set<string>();
      let lastAt = 0;
      const receiver = createServer((request, response) => {
        request.resume();
        request.on('end', () => {
          received.add(String(request.headers['webhook-id']));
          lastAt = now();
          response.statusCode = 204;
          response.end();
        });
      });
      receiver.listen(0, '127.0.0.1');
      await once(receiver, 'listening');
      rig.onClose(async () => receiver.close());
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
      const secret = `whsec_${randomBytes(32).toString('base64')}`;

      const off: Measured = await measure(ctx, rig, sandbox, accounts, 'product', PROCESSES);
      await sandbox.control.reset();
      const start = now();
      const on: Measured = await measure(ctx, rig, sandbox, accounts, 'product', PROCESSES, {
        WEBHOOK_URL: url,
        WEBHOOK_SECRET: secret,
      });
      const delivered = received.size;
      const deliverySeconds = (lastAt - start) / 1000;
      return {
        name: 'webhooks',
        title: webhooks.title,
        rows: [
          {
            metric: 'jobs/s',
            product: `webhooks on: ${fmt(on.jobsPerSecond)}`,
            baseline: `webhooks off: ${fmt(off.jobsPerSecond)}`,
            ratio: ratio(on.jobsPerSecond, off.jobsPerSecond),
            goal: '≥ 0.9',
            met: met(on.jobsPerSecond >= 0.9 * off.jobsPerSecond),
          },
          {
            metric: 'worker CPU per job',
            product: `${fmt(on.workerCpuMsPerJob, 2)} ms`,
            baseline: `${fmt(off.workerCpuMsPerJob, 2)} ms`,
            ratio: ratio(on.workerCpuMsPerJob, off.workerCpuMsPerJob),
            goal: '',
            met: '',
          },
          {
            metric: 'events delivered',
            product: `${fmt(delivered)} of ${fmt(on.completed)} completions, the last ${fmt(deliverySeconds, 1)} s after the start`,
            baseline: '',
            ratio: '',
            goal: '(report)',
            met: '',
          },
        ],
        notes: [
          'Deliveries run in the worker processes (the deliverer every process kind starts with WEBHOOK_URL), with their own Redis connections, at most 16 in flight per process.',
          'Events delivered are counted by distinct webhook-id at the receiver until the workers stop; deliveries still pending then are not counted.',
        ],
        raw: { jobs: JOBS, processes: PROCESSES, off, on, delivered, deliverySeconds },
      };
    }),
};
