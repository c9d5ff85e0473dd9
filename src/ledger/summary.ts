import { ExactSum } from './exact-sum.js';
import type { GroupBy, LedgerEntry, Summary } from './types.js';

/** Running totals for one group; amounts summed exactly. */
class Tally {
  readonly sum = new ExactSum();
  calls = 0;
  unknown = 0;

  add(entry: LedgerEntry): void {
    this.calls += 1;
    if (entry.amount === null) this.unknown += 1;
    else this.sum.add(entry.amount);
  }
}

function groupKey(entry: LedgerEntry, by: GroupBy): string {
  // `at` is ISO 8601 in UTC, so its first ten characters are the UTC date.
  return by === 'day' ? entry.at.slice(0, 10) : entry[by];
}

/** Folds entries batch by batch into a summary; never holds more than the groups. */
export class SummaryBuilder {
  private readonly all = new Tally();
  private readonly groups = new Map<string, Tally>();

  constructor(private readonly groupBy: GroupBy | undefined) {}

  add(entry: LedgerEntry): void {
    this.all.add(entry);
    if (this.groupBy === undefined) return;
    const key = groupKey(entry, this.groupBy);
    let tally = this.groups.get(key);
    if (!tally) {
      tally = new Tally();
      this.groups.set(key, tally);
    }
    tally.add(entry);
  }

  result(): Summary {
    return {
      total: this.all.sum.value(),
      calls: this.all.calls,
      unknown: this.all.unknown,
      groups: [...this.groups]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, t]) => ({ key, total: t.sum.value(), calls: t.calls, unknown: t.unknown })),
    };
  }
}
