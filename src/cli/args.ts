import { JOB_NAMES, schemas } from '../jobs/index.js';
import { readTime, TIME_HINT } from '../ledger/time.js';
import { UsageError } from './errors.js';

/** What node's parseArgs hands back, before a command narrows it. */
export type Values = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

export function stringOption(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function stringList(values: Values, name: string): string[] {
  const value = values[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}

/**
 * Payload fields whose schema takes numbers only (`is_split`, `vvtype`): on the command line "1"
 * means the number 1. Every other value stays a string, as ids must (the validator takes digit
 * strings, and a trade id past 2^53 would lose digits as a number). Read from the schemas, so a new
 * numeric field needs no change here.
 */
export const NUMERIC_FIELDS: ReadonlySet<string> = new Set(
  JOB_NAMES.flatMap((name) =>
    Object.entries(schemas[name].properties as Record<string, unknown>)
      .filter(([, schema]) => takesOnlyNumbers(schema))
      .map(([key]) => key),
  ),
);

function takesOnlyNumbers(schema: unknown): boolean {
  if (typeof schema !== 'object' || schema === null) return false;
  const s = schema as { type?: unknown; enum?: unknown; anyOf?: unknown; const?: unknown };
  if (s.type === 'number' || s.type === 'integer') return true;
  if (typeof s.const === 'number') return true;
  if (Array.isArray(s.enum)) return s.enum.length > 0 && s.enum.every((v) => typeof v === 'number');
  if (Array.isArray(s.anyOf)) return s.anyOf.length > 0 && s.anyOf.every(takesOnlyNumbers);
  return false;
}

const NUMBER_TEXT = /^-?\d+(\.\d+)?$/;

/**
 * `k=v` pairs (`--field`, `--patch`) into an object. Values stay strings except for the numeric
 * fields. Built with Object.fromEntries, so a key like `__proto__` is an own field the validator
 * then refuses, not a prototype change.
 */
export function parsePairs(pairs: readonly string[], option: string): Record<string, unknown> {
  const entries: [string, unknown][] = [];
  const seen = new Set<string>();
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--${option} takes key=value, got "${pair}"`);
    const key = pair.slice(0, eq);
    const text = pair.slice(eq + 1);
    if (seen.has(key)) throw new UsageError(`--${option} ${key} is given twice`);
    seen.add(key);
    entries.push([key, NUMERIC_FIELDS.has(key) && NUMBER_TEXT.test(text) ? Number(text) : text]);
  }
  return Object.fromEntries(entries);
}

/** A JSON object given on the command line (`--data`, `--patch-json`). */
export function parseJsonObject(text: string, option: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--${option} is not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`--${option} must be a JSON object, like '{"tid":"123"}'`);
  }
  return value as Record<string, unknown>;
}

export function parseInteger(text: string, option: string, min: number, max: number): number {
  const value = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${option} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

export function parseChoice<T extends string>(text: string, option: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text)) {
    throw new UsageError(`--${option} must be one of ${choices.join(', ')}, got "${text}"`);
  }
  return text as T;
}

/** A time as epoch milliseconds (see readTime: a time without an offset is UTC, as in the API). */
export function parseTime(text: string, option: string): number {
  const ms = readTime(text);
  if (ms === null) throw new UsageError(`--${option}: give ${TIME_HINT}, got "${text}"`);
  if (!Number.isSafeInteger(ms)) throw new UsageError(`--${option} is too large for epoch milliseconds`);
  return ms;
}

/** Refuses a wrong number of positional arguments; `what` names them for the message. */
export function expectPositionals(
  positionals: readonly string[],
  min: number,
  max: number,
  what: string,
): void {
  if (positionals.length < min) throw new UsageError(`missing ${what}`);
  if (positionals.length > max) {
    throw new UsageError(`unexpected argument "${positionals[max]}"${max === 0 ? '' : ` after ${what}`}`);
  }
}
