import { expectPositionals } from './args.js';
import type { Command } from './command.js';
import { Failure } from './errors.js';
import { record } from './output.js';

export const jobCommand: Command = {
  name: 'job',
  summary: 'show one job: its queue, state, attempts, result and last error',
  usage: ['fulfill job <id>'],
  help: ['<id>                   the job id (for a shipment, its idempotency key)'],
  options: {},
  prepare(_values, positionals) {
    expectPositionals(positionals, 1, 1, 'the job id');
    const id = positionals[0]!;
    return async (session) => {
      const job = await (await session.service()).getJob(id);
      if (!job) throw new Failure(`no job "${id}"`);
      await session.print(job, () =>
        record([
          ['id', job.id],
          ['queue', job.queue],
          ['name', job.name],
          ['state', job.state],
          ['attempts', job.attemptsMade],
          ['result', job.result],
          ['last error', job.lastError],
        ]),
      );
      return 0;
    };
  },
};
