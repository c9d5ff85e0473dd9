import { isEventType, type OutboxEvent } from './types.js';

/** Why an outbox entry could not be read as an event. */
export type UnreadableEntry =
  | { readonly kind: 'foreign'; readonly type: string }
  | { readonly kind: 'malformed'; readonly problem: string };

/**
 * One outbox entry's fields (`type`, `at`, `data`) as an event. A type this version does not know is
 * `foreign` (another consumer's record: skip it); an entry of a known type that cannot be read is
 * `malformed`. The data's shape is the writer's contract; only that it is a JSON object is checked.
 */
export function readOutboxEntry(
  id: string,
  fields: Readonly<Record<string, string>>,
): { ok: true; event: OutboxEvent } | { ok: false; unreadable: UnreadableEntry } {
  const type = fields.type ?? '';
  if (!isEventType(type)) return { ok: false, unreadable: { kind: 'foreign', type } };
  const at = Number(fields.at);
  if (!/^\d+$/.test(fields.at ?? '') || !Number.isSafeInteger(at)) {
    return { ok: false, unreadable: { kind: 'malformed', problem: '`at` is not epoch milliseconds' } };
  }
  let data: unknown;
  try {
    data = JSON.parse(fields.data ?? '');
  } catch {
    return { ok: false, unreadable: { kind: 'malformed', problem: '`data` is not JSON' } };
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return { ok: false, unreadable: { kind: 'malformed', problem: '`data` is not a JSON object' } };
  }
  return { ok: true, event: { id, type, at, data } as OutboxEvent };
}

/** A flat `[field, value, …]` list, as Redis returns stream entries, as a record. */
export function fieldMap(flat: readonly string[]): Record<string, string> {
  const map: Record<string, string> = Object.create(null);
  for (let i = 0; i + 1 < flat.length; i += 2) map[flat[i]!] = flat[i + 1]!;
  return map;
}
