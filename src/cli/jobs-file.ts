import { readFile } from 'node:fs/promises';
import { type AccountLookup, MAX_BATCH_JOBS, ROOT_PATH, validateBatch } from '../jobs/index.js';
import { type CliIssue, Failure, UsageError } from './errors.js';

export type JobType = 'ship' | 'sync';

/** A job of a file, as producer.batch takes it: `{ type, account, ...payload }`. */
export type BatchItem = Record<string, unknown> & { type: JobType };

/** Where an item sits in its file: its NDJSON line (1-based) or its JSON array index (0-based, as the API). */
type Place = { line: number } | { index: number };

/**
 * Reads a jobs file, NDJSON (one `{type, account, ...}` per line; blank lines skipped) or one JSON
 * array of them, and validates every job before any is sent, so that a bad line stops the whole file.
 * `defaultType` is the type of items that name none. Throws Failure naming every bad line or index.
 */
export async function readJobsFile(
  path: string,
  defaultType: JobType | undefined,
  accounts: AccountLookup,
): Promise<BatchItem[]> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${path} (${err.code ?? err.message})`);
  });
  const body = text.replace(/^\uFEFF/, '');
  const parsed = body.trimStart().startsWith('[') ? parseArray(body) : parseLines(body);
  if (parsed.length === 0) throw new Failure(`${path} holds no jobs`);

  const issues: CliIssue[] = [];
  const items: BatchItem[] = [];
  const bad = new Set<Parsed>();
  for (const entry of parsed) {
    if (entry.error === undefined) continue;
    bad.add(entry);
    issues.push({ ...entry.place, path: ROOT_PATH, message: entry.error });
  }
  // The API's own batch validation, a batch at a time, so every message is the one the API gives.
  const readable = parsed.filter((entry) => entry.error === undefined);
  for (let start = 0; start < readable.length; start += MAX_BATCH_JOBS) {
    const chunk = readable.slice(start, start + MAX_BATCH_JOBS);
    const jobs = chunk.map(({ value }) => withType(value, defaultType));
    const result = validateBatch({ jobs }, accounts);
    if (result.ok) {
      items.push(...(jobs as BatchItem[]));
      continue;
    }
    for (const issue of result.issues) {
      const match = /^jobs\.(\d+)(?:\.(.*))?$/s.exec(issue.path);
      const entry = match ? chunk[Number(match[1])] : undefined;
      if (!entry) throw new Error(`unexpected issue path from batch validation: ${issue.path}`);
      bad.add(entry);
      issues.push({ ...entry.place, path: match?.[2] ?? ROOT_PATH, message: issue.message });
    }
  }
  if (bad.size > 0) {
    const which = 'line' in parsed[0]!.place ? 'lines' : 'items';
    issues.sort((a, b) => (a.line ?? a.index ?? 0) - (b.line ?? b.index ?? 0));
    throw new Failure(
      `${bad.size} of ${parsed.length} ${which} of ${path} are invalid; nothing was enqueued`,
      issues,
    );
  }
  return items;
}

/** An item without "type" gets the default, as an own field in front (spread keeps a "__proto__" key own). */
function withType(value: unknown, defaultType: JobType | undefined): unknown {
  if (defaultType === undefined || typeof value !== 'object' || value === null || Array.isArray(value))
    return value;
  return Object.hasOwn(value, 'type') ? value : { type: defaultType, ...value };
}

interface Parsed {
  readonly place: Place;
  readonly value: unknown;
  readonly error?: string;
}

function parseArray(text: string): Parsed[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Failure(`the file is not valid JSON (${(err as Error).message}); nothing was enqueued`);
  }
  if (!Array.isArray(value)) throw new Failure('a JSON jobs file must hold one array of jobs');
  return value.map((item: unknown, index) => ({ place: { index }, value: item }));
}

function parseLines(text: string): Parsed[] {
  const parsed: Parsed[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    try {
      parsed.push({ place: { line: i + 1 }, value: JSON.parse(line) });
    } catch (err) {
      parsed.push({
        place: { line: i + 1 },
        value: undefined,
        error: `is not valid JSON (${(err as Error).message})`,
      });
    }
  });
  return parsed;
}
