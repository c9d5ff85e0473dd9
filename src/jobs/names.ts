import type { Provider } from '../config/index.js';

export type { Provider } from '../config/index.js';

export const JOB_NAMES = ['vvtool.send', 'damaijia.delivery', 'damaijia.sync'] as const;
export type JobName = (typeof JOB_NAMES)[number];
export type QueueName = 'ship' | 'sync';

/** Which queue runs each job and which provider's account it needs: the jobs table of docs/design.md. */
export const JOBS = {
  'vvtool.send': { queue: 'ship', provider: 'vvtool' },
  'damaijia.delivery': { queue: 'ship', provider: 'damaijia' },
  'damaijia.sync': { queue: 'sync', provider: 'damaijia' },
} as const satisfies Record<JobName, { queue: QueueName; provider: Provider }>;

export function isJobName(value: unknown): value is JobName {
  return typeof value === 'string' && (JOB_NAMES as readonly string[]).includes(value);
}

/** The job a request of this type means for an account of this provider (sync exists for damaijia only). */
export function jobFor(queue: QueueName, provider: Provider): JobName | undefined {
  return JOB_NAMES.find((name) => JOBS[name].queue === queue && JOBS[name].provider === provider);
}
