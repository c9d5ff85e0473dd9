import { HttpError } from './errors.js';

/**
 * Keys that reach for the prototype chain. JSON.parse makes them plain own properties (no pollution
 * happens here), but code further on that copies or merges objects could still be tricked, so a body
 * holding one anywhere is refused, naming where: the same rule as Fastify's `onProtoPoisoning` /
 * `onConstructorPoisoning: 'error'`, with the place said instead of "not valid JSON".
 */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Longest piece of the parser's message given back. */
const MAX_DETAIL = 160;

/** Parses a JSON request body; a 400 in the error shape naming `body` (or the bad key's path) otherwise. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') {
    throw new HttpError(400, 'invalid request', [
      { path: 'body', message: 'is empty, but content-type says application/json' },
    ]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // V8 quotes a stretch of the body in some messages; that is cut, so no answer echoes what a
    // client may have pasted by mistake (a token, say). The position stays: it is what helps.
    const detail = String((err as Error).message)
      .replace(/, ".*is not valid JSON$/s, '')
      .slice(0, MAX_DETAIL);
    throw new HttpError(400, 'invalid request', [{ path: 'body', message: `is not valid JSON (${detail})` }]);
  }
  const forbidden = findForbiddenKey(value);
  if (forbidden !== null) {
    throw new HttpError(400, 'invalid request', [
      { path: forbidden, message: 'is not allowed as a field name' },
    ]);
  }
  return value;
}

/** The dotted path of the first forbidden key, or null. Iterative: a deeply nested body cannot blow the stack. */
export function findForbiddenKey(root: unknown): string | null {
  const stack: Array<{ value: unknown; path: string }> = [{ value: root, path: '' }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    const keys = Array.isArray(value) ? value.keys() : Object.keys(value);
    for (const key of keys) {
      const name = String(key);
      const at = path === '' ? name : `${path}.${name}`;
      if (!Array.isArray(value) && FORBIDDEN_KEYS.has(name)) return at;
      stack.push({ value: (value as Record<string, unknown>)[name], path: at });
    }
  }
  return null;
}
