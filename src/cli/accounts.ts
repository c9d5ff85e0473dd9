import { expectPositionals, stringOption } from './args.js';
import type { Command } from './command.js';
import { Failure, UsageError } from './errors.js';
import { table } from './output.js';

/** Accounts as the API shows them: id, provider, rate and hold state; the token is never read here. */
export const accountsListCommand: Command = {
  name: 'accounts list',
  summary: 'list the configured accounts and whether each is active or held',
  usage: ['fulfill accounts list'],
  help: [],
  options: {},
  prepare(_values, positionals) {
    expectPositionals(positionals, 0, 0, '');
    return async (session) => {
      const items = await (await session.service()).listAccounts();
      await session.print({ items }, () =>
        table(
          [
            { title: 'id', value: (a) => a.id },
            { title: 'provider', value: (a) => a.provider },
            { title: 'rate/s', value: (a) => a.ratePerSecond, align: 'right' },
            { title: 'state', value: (a) => a.state },
            { title: 'backlog', value: (a) => a.backlog, align: 'right' },
            { title: 'code', value: (a) => a.code },
            { title: 'since', value: (a) => a.since },
            { title: 'reason', value: (a) => a.reason, max: 60 },
          ],
          items,
        ),
      );
      return 0;
    };
  },
};

export const accountsResumeCommand: Command = {
  name: 'accounts resume',
  summary: 'resume a held account and release the jobs that waited for it',
  usage: ['fulfill accounts resume <id>'],
  help: ['<id>                   the account id'],
  options: {},
  prepare(_values, positionals) {
    expectPositionals(positionals, 1, 1, 'the account id');
    const id = positionals[0]!;
    return async (session) => {
      const resumed = await (await session.service()).resumeAccount(id);
      if (!resumed) throw new Failure(`no account "${id}" is configured`);
      await session.print(
        resumed,
        () => `account ${id} is active; ${resumed.released} waiting job(s) released\n`,
      );
      return 0;
    };
  },
};

export const accountsHoldCommand: Command = {
  name: 'accounts hold',
  summary: 'hold an account by hand: its jobs wait, with no calls and no attempts spent, until resumed',
  usage: ['fulfill accounts hold <id> --reason TEXT'],
  help: [
    '<id>                   the account id',
    '--reason TEXT          why, for the people who will see it held (1-256 characters)',
  ],
  notes: [
    'The same as a hold the upstream causes (a rejected token, a spent balance). Holding a held',
    'account changes nothing and keeps its first reason. "fulfill accounts resume <id>" ends it.',
  ],
  options: { reason: { type: 'string' } },
  prepare(values, positionals) {
    expectPositionals(positionals, 1, 1, 'the account id');
    const id = positionals[0]!;
    const reason = stringOption(values, 'reason');
    if (reason === undefined) throw new UsageError('--reason is required: say why the account is held');
    return async (session) => {
      // The service checks the reason (a ValidationError names it), as it does for the API.
      const held = await (await session.service()).holdAccount(id, reason);
      if (!held) throw new Failure(`no account "${id}" is configured`);
      await session.print({ id: held.id, state: held.state, changed: held.changed }, () =>
        held.changed
          ? `account ${id} is held; its jobs wait until "fulfill accounts resume ${id}"\n`
          : `account ${id} was held already; nothing changed\n`,
      );
      return 0;
    };
  },
};
