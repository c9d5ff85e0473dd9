import { accountLookup, MAX_BATCH_JOBS as MAX_BATCH, ValidationError } from '../jobs/index.js';
import type { EnqueueResult } from '../queues/producer.js';
import type { Fulfillment } from '../queues/service.js';
import {
  expectPositionals,
  parseChoice,
  parseJsonObject,
  parsePairs,
  stringList,
  stringOption,
  type Values,
} from './args.js';
import type { Action, Command } from './command.js';
import { Failure, UsageError } from './errors.js';
import { type BatchItem, type JobType, readJobsFile } from './jobs-file.js';
import { Progress } from './progress.js';
import type { Session } from './session.js';

const TYPES = ['ship', 'sync'] as const;

export const enqueueCommand: Command = {
  name: 'enqueue',
  summary: 'enqueue a ship or sync job from flags, or many from a JSON or NDJSON file',
  usage: [
    'fulfill enqueue ship|sync --account <id> --field key=value ... [--data <object>]',
    'fulfill enqueue [ship|sync] --file <jobs.ndjson|jobs.json>',
  ],
  help: [
    'ship|sync              the queue; the account decides the job (vvtool.send, damaijia.delivery or',
    '                       damaijia.sync)',
    '--account <id>         the account (one of FULFILLMENT_ACCOUNTS)',
    '--field key=value      a payload field (repeatable), e.g. --field tid=123 --field out_sid=YT987;',
    '                       values are strings (ids stay exact), is_split and vvtype are numbers',
    '--data <object>        payload fields as one JSON object, e.g. \'{"tid":"123"}\' (--field wins)',
    '--file <path>          many jobs: NDJSON (one {"type","account",...} per line) or a JSON array;',
    '                       all are validated first and nothing is enqueued if any is invalid; then',
    `                       they go in batches of ${MAX_BATCH}. A ship|sync given with --file is the`,
    '                       type of items without "type".',
  ],
  notes: [
    'Enqueueing a shipment that exists already (queued, running, done or dead) reports the existing',
    'job as a duplicate and changes nothing.',
  ],
  options: {
    account: { type: 'string' },
    field: { type: 'string', multiple: true },
    data: { type: 'string' },
    file: { type: 'string' },
  },
  prepare(values, positionals) {
    expectPositionals(positionals, 0, 1, 'ship or sync');
    const type = positionals[0] === undefined ? undefined : parseChoice(positionals[0], 'type', TYPES);
    const file = stringOption(values, 'file');
    if (file !== undefined) return prepareFile(values, file, type);
    if (type === undefined) throw new UsageError('say ship or sync (or give --file)');
    return prepareOne(values, type);
  },
};

function prepareOne(values: Values, type: JobType): Action {
  const data = stringOption(values, 'data');
  const account = stringOption(values, 'account');
  const body = {
    ...(data === undefined ? {} : parseJsonObject(data, 'data')),
    ...(account === undefined ? {} : { account }),
    ...parsePairs(stringList(values, 'field'), 'field'),
  };
  return async (session) => {
    const { producer } = await session.service();
    const result = type === 'ship' ? await producer.ship(body) : await producer.sync(body);
    await session.print(result, () =>
      result.duplicate
        ? `duplicate: job ${result.id} exists already (${result.state}); nothing enqueued\n`
        : `enqueued ${result.id} (${result.state})\n`,
    );
    return 0;
  };
}

function prepareFile(values: Values, path: string, defaultType: JobType | undefined): Action {
  for (const flag of ['account', 'field', 'data']) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} cannot be combined with --file`);
  }
  if (path === '') throw new UsageError('--file needs a path');
  return async (session) => {
    // Validated against the configured accounts before Redis is touched: a bad file never connects.
    const items = await readJobsFile(path, defaultType, accountLookup(session.config.accounts));
    const results = await sendAll(await session.service(), items, session);
    const duplicates = results.filter((r) => r.duplicate).length;
    const summary = { total: results.length, enqueued: results.length - duplicates, duplicates };
    await session.print(
      { ...summary, jobs: results },
      () => `${summary.total} jobs: ${summary.enqueued} enqueued, ${summary.duplicates} duplicate\n`,
    );
    return 0;
  };
}

/** Sends the validated items in batches, with progress on stderr. */
async function sendAll(service: Fulfillment, items: readonly BatchItem[], session: Session) {
  const progress = new Progress(session.io.stderr, items.length, 'enqueue');
  const results: EnqueueResult[] = [];
  try {
    for (let start = 0; start < items.length; start += MAX_BATCH) {
      results.push(...(await service.producer.batch(items.slice(start, start + MAX_BATCH))));
      progress.update(results.length);
    }
  } catch (err) {
    progress.end();
    // Jobs sent so far stay enqueued; sending the file again reports them as duplicates.
    const issues = err instanceof ValidationError ? err.issues : [];
    throw new Failure(
      `stopped after ${results.length} of ${items.length} jobs: ${(err as Error).message}. ` +
        'The jobs sent stay enqueued; running the same file again skips those with an idempotency key ' +
        '(sync jobs have none and would be enqueued again).',
      issues,
    );
  }
  progress.end();
  return results;
}
