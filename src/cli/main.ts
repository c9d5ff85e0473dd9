import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/index.js';
import { ROOT_PATH, ValidationError } from '../jobs/index.js';
import { LedgerError } from '../ledger/index.js';
import { accountsHoldCommand, accountsListCommand, accountsResumeCommand } from './accounts.js';
import type { Values } from './args.js';
import { type Command, helpText } from './command.js';
import { deadListCommand, deadPurgeCommand, deadRedriveCommand, deadShowCommand } from './dead.js';
import { enqueueCommand } from './enqueue.js';
import { CliError, type CliIssue, UsageError } from './errors.js';
import { jobCommand } from './job.js';
import { ledgerExportCommand, ledgerSummaryCommand } from './ledger.js';
import { type CliIO, toJson } from './output.js';
import { Session } from './session.js';
import { packageVersion } from './version.js';

export type { CliIO, Output } from './output.js';

const COMMANDS: readonly Command[] = [
  enqueueCommand,
  jobCommand,
  deadListCommand,
  deadShowCommand,
  deadRedriveCommand,
  deadPurgeCommand,
  ledgerSummaryCommand,
  ledgerExportCommand,
  accountsListCommand,
  accountsHoldCommand,
  accountsResumeCommand,
];

const GROUPS: Readonly<Record<string, string>> = {
  dead: 'the dead-letter queue: list, show, redrive, purge',
  ledger: 'coupon spend: summary, export',
  accounts: 'upstream accounts: list, hold, resume',
};

/** Issue lines printed on stderr; --json output carries them all. */
const MAX_ISSUE_LINES = 100;

/**
 * The `fulfill` CLI: runs one command and returns its exit code (0 ok, 1 the operation failed,
 * 2 usage or configuration error). `--help` never reads the config or touches Redis.
 */
export async function run(argv: readonly string[], io: CliIO): Promise<number> {
  const ownArgs = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  if (argv.length === 0) {
    io.stderr.write(globalHelp());
    return 2;
  }
  if (argv[0] === '--version') {
    io.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (argv[0] === 'help') {
    io.stdout.write(helpFor(argv.slice(1)));
    return 0;
  }
  if (ownArgs.includes('--help') || ownArgs.includes('-h')) {
    io.stdout.write(helpFor(argv.filter((arg) => !arg.startsWith('-'))));
    return 0;
  }

  const found = findCommand(argv);
  if (!found)
    return usageError(io, unknownCommand(argv), argv[0] !== undefined && argv[0] in GROUPS ? argv[0] : '');
  const { command, rest } = found;

  let values: Values;
  let positionals: string[];
  let action: ReturnType<Command['prepare']>;
  try {
    ({ values, positionals } = parseArgs({
      args: [...rest],
      options: { ...command.options, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    }));
    action = command.prepare(values, positionals);
  } catch (err) {
    if (err instanceof UsageError || isParseArgsError(err))
      return usageError(io, (err as Error).message, command.name);
    throw err;
  }
  const json = values['json'] === true;

  let session: Session;
  try {
    session = new Session(io, json, loadConfig(io.env, { accounts: true }));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return fail(io, json, 2, err.message, []);
  }
  try {
    return await action(session);
  } catch (err) {
    return report(io, json, command, err);
  } finally {
    await session.close().catch((err: unknown) => {
      // The command's result is out already; a failed goodbye to Redis is worth a line, not a failure.
      io.stderr.write(`warning: closing the Redis connection failed: ${(err as Error).message}\n`);
    });
  }
}

function findCommand(argv: readonly string[]): { command: Command; rest: readonly string[] } | undefined {
  const two = COMMANDS.find((c) => c.name === `${argv[0]} ${argv[1]}`);
  if (two) return { command: two, rest: argv.slice(2) };
  const one = COMMANDS.find((c) => c.name === argv[0]);
  return one ? { command: one, rest: argv.slice(1) } : undefined;
}

function unknownCommand(argv: readonly string[]): string {
  const [first, second] = argv;
  if (first !== undefined && first in GROUPS) {
    const subs = COMMANDS.filter((c) => c.name.startsWith(`${first} `)).map((c) => c.name.split(' ')[1]);
    return second === undefined || second.startsWith('-')
      ? `"${first}" needs one of: ${subs.join(', ')}`
      : `unknown command "${first} ${second}" (one of: ${subs.join(', ')})`;
  }
  return `unknown command "${first}"`;
}

/** Help for the words given: a command, a group, or everything. */
function helpFor(words: readonly string[]): string {
  const found = findCommand(words);
  if (found) return helpText(found.command);
  const group = words[0];
  if (group !== undefined && group in GROUPS) {
    const subs = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
    return [
      `fulfill ${group}: ${GROUPS[group]}`,
      '',
      'Usage:',
      ...subs.flatMap((c) => c.usage.map((line) => `  ${line}`)),
      '',
      'Commands:',
      ...subs.map((c) => `  ${c.name.padEnd(16)} ${c.summary}`),
      '',
      `Run "fulfill ${group} <command> --help" for its options.`,
      '',
    ].join('\n');
  }
  return globalHelp();
}

function globalHelp(): string {
  return [
    'fulfill: operate the fulfillment worker (jobs, dead letters, ledger, accounts)',
    '',
    'Usage: fulfill <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(16)} ${c.summary}`),
    '',
    'Every command takes --json (machine-readable output on stdout) and --help.',
    '"fulfill --version" prints the version.',
    'Run "fulfill <command> --help" for its options.',
    '',
    'Environment: REDIS_URL, FULFILLMENT_PREFIX, FULFILLMENT_ACCOUNTS or FULFILLMENT_ACCOUNTS_FILE,',
    'as for the service.',
    'Exit codes: 0 ok, 1 the operation failed, 2 usage or configuration error.',
    '',
  ].join('\n');
}

function usageError(io: CliIO, message: string, name: string): number {
  io.stderr.write(`fulfill: ${message}\nRun "fulfill ${name ? `${name} ` : ''}--help" for usage.\n`);
  return 2;
}

function isParseArgsError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

function report(io: CliIO, json: boolean, command: Command, err: unknown): number {
  if (err instanceof UsageError) return usageError(io, err.message, command.name);
  if (err instanceof CliError) return fail(io, json, err.exitCode, err.message, err.issues);
  if (err instanceof ValidationError) {
    const count = err.issues.length;
    return fail(io, json, 1, `refused: ${count} problem${count === 1 ? '' : 's'}`, err.issues);
  }
  if (err instanceof LedgerError) return fail(io, json, 1, err.message, []);
  if (err instanceof ConfigError) return fail(io, json, 2, err.message, []);
  return fail(io, json, 1, err instanceof Error ? err.message : String(err), []);
}

/** One error line and each issue `path: message` on stderr; with --json also `{error, issues}` on stdout. */
function fail(io: CliIO, json: boolean, code: 1 | 2, message: string, issues: readonly CliIssue[]): number {
  if (json) io.stdout.write(toJson({ error: message, issues }));
  const lines = [`error: ${message}`, ...issues.slice(0, MAX_ISSUE_LINES).map(issueLine)];
  if (issues.length > MAX_ISSUE_LINES)
    lines.push(`… and ${issues.length - MAX_ISSUE_LINES} more (see --json)`);
  io.stderr.write(`${lines.join('\n')}\n`);
  return code;
}

function issueLine(issue: CliIssue): string {
  const place =
    issue.line !== undefined
      ? `line ${issue.line}: `
      : issue.index !== undefined
        ? `index ${issue.index}: `
        : '';
  return issue.path === ROOT_PATH ? `${place}${issue.message}` : `${place}${issue.path}: ${issue.message}`;
}
