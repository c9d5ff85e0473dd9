import {
  DeadLetterConflictError,
  type DeadLetterFilter,
  type DeadLetterItem,
} from '../queues/dead-letter.js';
import {
  expectPositionals,
  parseChoice,
  parseInteger,
  parseJsonObject,
  parsePairs,
  stringList,
  stringOption,
  type Values,
} from './args.js';
import type { Command } from './command.js';
import { Failure, UsageError } from './errors.js';
import { record, table } from './output.js';

const DEFAULT_LIMIT = 100;
/** As the API: a page above 1,000 is refused. */
const MAX_LIMIT = 1_000;

const FILTER_OPTIONS = {
  account: { type: 'string' },
  code: { type: 'string' },
  queue: { type: 'string' },
} as const;

const FILTER_HELP = [
  '--account <id>         only dead jobs of this account',
  '--code <n>             only dead jobs with this provider code',
  '--queue ship|sync      only dead jobs from this queue',
];

/** The filter flags, checked; undefined when none is given. */
function readFilter(values: Values): DeadLetterFilter | undefined {
  const account = stringOption(values, 'account');
  const code = stringOption(values, 'code');
  const queue = stringOption(values, 'queue');
  if (account === undefined && code === undefined && queue === undefined) return undefined;
  return {
    ...(account === undefined ? {} : { account }),
    ...(code === undefined ? {} : { code: parseInteger(code, 'code', -2_147_483_648, 2_147_483_647) }),
    ...(queue === undefined ? {} : { queue: parseChoice(queue, 'queue', ['ship', 'sync'] as const) }),
  };
}

export const deadListCommand: Command = {
  name: 'dead list',
  summary: 'list dead jobs, oldest first, optionally filtered',
  usage: ['fulfill dead list [--account <id>] [--code <n>] [--queue ship|sync] [--limit <n>] [--cursor <c>]'],
  help: [
    ...FILTER_HELP,
    `--limit <n>            at most this many (1-${MAX_LIMIT}, default ${DEFAULT_LIMIT})`,
    '--cursor <c>           the next page, as a previous list printed it',
  ],
  options: { ...FILTER_OPTIONS, limit: { type: 'string' }, cursor: { type: 'string' } },
  prepare(values, positionals) {
    expectPositionals(positionals, 0, 0, '');
    const filter = readFilter(values) ?? {};
    const limitText = stringOption(values, 'limit');
    const limit = limitText === undefined ? DEFAULT_LIMIT : parseInteger(limitText, 'limit', 1, MAX_LIMIT);
    const cursor = stringOption(values, 'cursor');
    return async (session) => {
      const page = await (await session.service()).deadLetters.list(filter, limit, cursor);
      await session.print(page, () => {
        if (page.items.length === 0) return 'no dead jobs\n';
        const rows = table(
          [
            { title: 'id', value: (d: DeadLetterItem) => d.id, max: 60 },
            { title: 'queue', value: (d) => d.queue },
            { title: 'account', value: (d) => d.account },
            { title: 'code', value: (d) => d.code, align: 'right' },
            { title: 'tries', value: (d) => d.attemptsMade, align: 'right' },
            { title: 'failed at', value: (d) => d.failedAt },
            { title: 'reason', value: (d) => d.reason, max: 60 },
          ],
          page.items,
        );
        return page.next === null ? rows : `${rows}more: --cursor ${page.next}\n`;
      });
      return 0;
    };
  },
};

export const deadShowCommand: Command = {
  name: 'dead show',
  summary: 'show one dead job in full: payload, code, message, reason',
  usage: ['fulfill dead show <id>'],
  help: ['<id>                   the dead job id'],
  options: {},
  prepare(_values, positionals) {
    expectPositionals(positionals, 1, 1, 'the dead job id');
    const id = positionals[0]!;
    return async (session) => {
      const item = await (await session.service()).deadLetters.get(id);
      if (!item) throw new Failure(`no dead job "${id}"`);
      await session.print(item, () =>
        record([
          ['id', item.id],
          ['queue', item.queue],
          ['name', item.name],
          ['account', item.account],
          ['code', item.code],
          ['message', item.message],
          ['reason', item.reason],
          ['attempts', item.attemptsMade],
          ['failed at', item.failedAt],
          ['data', item.data],
        ]),
      );
      return 0;
    };
  },
};

export const deadRedriveCommand: Command = {
  name: 'dead redrive',
  summary: 'put dead jobs back on their queue, optionally with corrected fields',
  usage: [
    'fulfill dead redrive <id>... [--patch key=value ...] [--patch-json <object>]',
    'fulfill dead redrive (--account <id> | --code <n> | --queue ship|sync)... [--patch ...]',
    'fulfill dead redrive --all [--patch ...]',
  ],
  help: [
    '<id>...                the dead jobs to redrive',
    ...FILTER_HELP,
    '--all                  every dead job (up to 1,000 per run; run again for more)',
    '--patch key=value      set a payload field before redriving (repeatable), e.g. --patch out_sid=YT123',
    '--patch-json <object>  fields to set as one JSON object, e.g. \'{"is_split":1}\'',
  ],
  notes: [
    'A redriven job keeps its id; the patched payload is validated like a new job, and if any',
    'job would be invalid, or is still in its queue, or is no longer dead, nothing is redriven.',
  ],
  options: {
    ...FILTER_OPTIONS,
    all: { type: 'boolean' },
    patch: { type: 'string', multiple: true },
    'patch-json': { type: 'string' },
  },
  prepare(values, positionals) {
    const filter = readFilter(values);
    const all = values['all'] === true;
    const chosen = [positionals.length > 0, filter !== undefined, all].filter(Boolean).length;
    if (chosen === 0) throw new UsageError('name the dead jobs: ids, filter flags, or --all');
    if (chosen > 1) throw new UsageError('give ids, filter flags or --all, not more than one of them');
    const patchJson = stringOption(values, 'patch-json');
    const patch = {
      ...(patchJson === undefined ? {} : parseJsonObject(patchJson, 'patch-json')),
      ...parsePairs(stringList(values, 'patch'), 'patch'),
    };
    const request = {
      ...(positionals.length > 0 ? { ids: [...positionals] } : { filter: filter ?? {} }),
      ...(Object.keys(patch).length > 0 ? { patch } : {}),
    };
    return async (session) => {
      const result = await (await session.service()).deadLetters.redrive(request);
      await session.print(result, () =>
        result.redriven === 0
          ? 'no dead jobs matched; nothing redriven\n'
          : `redriven ${result.redriven}:\n${result.ids.map((id) => `  ${id}\n`).join('')}`,
      );
      return 0;
    };
  },
};

export const deadPurgeCommand: Command = {
  name: 'dead purge',
  summary: 'delete dead jobs for good (their keys can then be enqueued afresh)',
  usage: ['fulfill dead purge <id>...'],
  help: ['<id>...                the dead jobs to delete'],
  options: {},
  prepare(_values, positionals) {
    expectPositionals(positionals, 1, Number.POSITIVE_INFINITY, 'the dead job ids');
    const ids = [...new Set(positionals)];
    return async (session) => {
      const service = await session.service();
      const purged: string[] = [];
      const missing: string[] = [];
      // Refused (the job is still in its queue): nothing of it changed; listed only when there are some.
      const refused: string[] = [];
      const notes: string[] = [];
      for (const id of ids) {
        try {
          ((await service.deadLetters.remove(id)) ? purged : missing).push(id);
        } catch (err) {
          if (!(err instanceof DeadLetterConflictError)) throw err;
          refused.push(id);
          notes.push(`dead job "${id}" not purged: ${err.issues[0]?.message ?? err.message}`);
        }
      }
      await session.print({ purged, missing, ...(refused.length > 0 ? { refused } : {}) }, () =>
        purged.length === 0 ? '' : `purged ${purged.length}:\n${purged.map((id) => `  ${id}\n`).join('')}`,
      );
      if (missing.length === 0 && refused.length === 0) return 0;
      for (const id of missing) session.note(`no dead job "${id}"`);
      for (const note of notes) session.note(note);
      return 1;
    };
  },
};
