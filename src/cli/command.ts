import type { ParseArgsConfig } from 'node:util';
import type { Values } from './args.js';
import type { Session } from './session.js';

/** A command, once its flags are checked: runs against a session, returns the exit code. */
export type Action = (session: Session) => Promise<number>;

export interface Command {
  /** As typed: 'job', 'dead list'. */
  readonly name: string;
  /** One line for `fulfill --help`. */
  readonly summary: string;
  /** The `fulfill …` synopsis lines. */
  readonly usage: readonly string[];
  /** Option and argument lines of its --help (besides --json and --help, which every command has). */
  readonly help: readonly string[];
  /** Paragraph lines after the options, when a command needs a word of explanation. */
  readonly notes?: readonly string[];
  readonly options: NonNullable<ParseArgsConfig['options']>;
  /**
   * Checks flags and arguments (throws UsageError) before any config is read or Redis touched, and
   * gives the action to run.
   */
  prepare(values: Values, positionals: readonly string[]): Action;
}

/** The text of `fulfill <command> --help`. */
export function helpText(command: Command): string {
  const lines = [
    `fulfill ${command.name}: ${command.summary}`,
    '',
    'Usage:',
    ...command.usage.map((line) => `  ${line}`),
    '',
    'Options:',
    ...command.help.map((line) => `  ${line}`),
    '  --json                 print the result as JSON on stdout (errors as {"error", "issues"})',
    '  -h, --help             print this help',
    '',
    ...(command.notes ? [...command.notes, ''] : []),
    'Exit codes: 0 ok, 1 the operation failed, 2 usage or configuration error.',
  ];
  return `${lines.join('\n')}\n`;
}
