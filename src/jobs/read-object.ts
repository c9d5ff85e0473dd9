import { type Issue, ROOT_PATH } from './issues.js';

/** Names that reach for the prototype chain; never a field, refused wherever they appear. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Paths echo the field name a client sent; a longer name is cut for the message. */
const MAX_PATH_KEY = 64;

export interface ReadObject {
  /** Own data properties, in input order; an own property holding `undefined` counts as absent. */
  readonly fields: ReadonlyMap<string, unknown>;
  /** One issue per forbidden key. */
  readonly forbidden: readonly Issue[];
}

export function isPlainObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads a JSON object by its own properties only, so nothing inherited (a polluted
 * Object.prototype, say) can supply or hide a field. Accessor properties are not read (they
 * cannot come from JSON, and a getter could run code) and count as absent.
 * Returns undefined when the value is not an object.
 */
export function readObject(input: unknown): ReadObject | undefined {
  if (!isPlainObject(input)) return undefined;
  const fields = new Map<string, unknown>();
  const forbidden: Issue[] = [];
  for (const key of Object.keys(input)) {
    if (FORBIDDEN_KEYS.has(key)) {
      forbidden.push({ path: key, message: 'is not allowed as a field name' });
      continue;
    }
    const descriptor = Object.getOwnPropertyDescriptor(input, key);
    const value: unknown = descriptor && 'value' in descriptor ? descriptor.value : undefined;
    if (value !== undefined) fields.set(key, value);
  }
  return { fields, forbidden };
}

/** A field name as an issue path: never empty (an empty path would name nothing), never huge. */
export function keyPath(key: string): string {
  if (key === '') return '""';
  if (key === ROOT_PATH) return `"${ROOT_PATH}"`;
  return key.length > MAX_PATH_KEY ? `${key.slice(0, MAX_PATH_KEY)}…` : key;
}
