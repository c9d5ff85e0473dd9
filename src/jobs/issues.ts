/** One problem with a request, for people: `path` names the field ('tid', 'jobs.3.sub_tid'). */
export interface Issue {
  path: string;
  message: string;
}

/** The path of a problem with the value as a whole (not a JSON object, say); prefixes replace it. */
export const ROOT_PATH = '$';

/** Issues of a nested value, seen from its parent: `prefixIssues('jobs.3', …)` gives 'jobs.3.tid'. */
export function prefixIssues(prefix: string, issues: readonly Issue[]): Issue[] {
  return issues.map((issue) => ({
    path: issue.path === ROOT_PATH ? prefix : `${prefix}.${issue.path}`,
    message: issue.message,
  }));
}

/** The issues as one line, e.g. "tid: is required; sub_tid: must be given together with is_split". */
export function formatIssues(issues: readonly Issue[], limit = 20): string {
  const shown = issues.slice(0, limit).map((issue) => `${issue.path}: ${issue.message}`);
  if (issues.length > limit) shown.push(`and ${issues.length - limit} more`);
  return shown.join('; ');
}

/** A refused request, for callers that throw (CLI, library). `kind` survives serialisation, unlike instanceof. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  readonly kind = 'invalid';
  readonly issues: Issue[];

  constructor(issues: readonly Issue[]) {
    super(`invalid job: ${formatIssues(issues)}`);
    this.issues = [...issues];
  }
}
