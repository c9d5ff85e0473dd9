import type { DoneResult } from '../outcomes/types.js';

/**
 * The idempotency marker of a job id, one short string key:
 * - 'c'                                claimed by a redrive that is putting the job back (expires soon);
 * - 'd|<finishedAt>|<result>|<charge>' completed; kept for the retention window (default 7 days), far
 *                                      smaller than the completed job itself, which is removed early;
 * - 'x|<json DeadInfo>'                dead; kept until the job is redriven or purged.
 * The gate reads it before every call, so a job that is finished never calls the upstream again.
 */
export interface DoneMarker {
  readonly kind: 'done';
  readonly finishedAt: number;
  readonly result: DoneResult;
  readonly charge: number;
}

export interface DeadInfo {
  readonly reason: string;
  readonly code: number | null;
  readonly message: string;
  readonly attemptsMade: number;
  readonly failedAt: number;
}

export type Marker = { readonly kind: 'claimed' } | DoneMarker | ({ readonly kind: 'dead' } & DeadInfo);

export function doneMarker(result: DoneResult, charge: number, finishedAt = Date.now()): string {
  return `d|${finishedAt}|${result}|${charge}`;
}

export function deadMarker(info: DeadInfo): string {
  return `x|${JSON.stringify(info)}`;
}

export function parseMarker(value: string | null): Marker | null {
  if (value === null) return null;
  if (value.startsWith('d|')) {
    const [, finishedAt, result, charge] = value.split('|');
    return {
      kind: 'done',
      finishedAt: Number(finishedAt),
      result: result as DoneResult,
      charge: Number(charge),
    };
  }
  if (value.startsWith('x|')) return { kind: 'dead', ...(JSON.parse(value.slice(2)) as DeadInfo) };
  return { kind: 'claimed' };
}
