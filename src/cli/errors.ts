import type { Issue } from '../jobs/index.js';

/** An issue of a job read from a file: where in the file (an NDJSON line or a JSON array index), then the field. */
export interface CliIssue extends Issue {
  readonly line?: number;
  readonly index?: number;
}

/** A failure the CLI reports itself; `exitCode` is what the process exits with. */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  readonly exitCode: 1 | 2;
  readonly issues: readonly CliIssue[];

  constructor(message: string, exitCode: 1 | 2, issues: readonly CliIssue[] = []) {
    super(message);
    this.exitCode = exitCode;
    this.issues = issues;
  }
}

/** Flags or arguments that make no sense (exit 2); found before any config is read or Redis touched. */
export class UsageError extends CliError {
  override readonly name = 'UsageError';

  constructor(message: string) {
    super(message, 2);
  }
}

/** The operation ran and failed: not found, refused by validation, Redis unreachable (exit 1). */
export class Failure extends CliError {
  override readonly name = 'Failure';

  constructor(message: string, issues: readonly CliIssue[] = []) {
    super(message, 1, issues);
  }
}
