import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maxInSlidingWindow } from '../../src/sandbox/index.js';
import { ArrivalWindow } from '../../src/sandbox/window.js';

/** The definition, by brute force: the calls in (t - window, t] for every arrival t. */
function bruteForce(times: number[], windowMs: number): number {
  let max = 0;
  for (const end of times) {
    max = Math.max(max, times.filter((t) => t > end - windowMs && t <= end).length);
  }
  return max;
}

describe('maxInSlidingWindow', () => {
  it('counts the calls of the busiest window', () => {
    expect(maxInSlidingWindow([])).toBe(0);
    expect(maxInSlidingWindow([5])).toBe(1);
    expect(maxInSlidingWindow([0, 999.9])).toBe(2);
    expect(maxInSlidingWindow([0, 100, 200, 1100, 1150])).toBe(3);
  });

  it('lets a call exactly one window later start afresh', () => {
    expect(maxInSlidingWindow([0, 1000, 2000])).toBe(1);
    expect(maxInSlidingWindow([0, 1000, 1000])).toBe(2);
  });

  it('does not need sorted input and does not sort it', () => {
    const times = [1500, 0, 1400, 600, 900];
    expect(maxInSlidingWindow(times)).toBe(4);
    expect(times).toEqual([1500, 0, 1400, 600, 900]);
  });

  it('takes another window length', () => {
    expect(maxInSlidingWindow([0, 50, 99, 100], 100)).toBe(3);
  });

  it('agrees with the definition', () => {
    const times = fc.array(fc.double({ min: 0, max: 5000, noNaN: true }), { maxLength: 60 });
    fc.assert(
      fc.property(times, fc.integer({ min: 1, max: 2000 }), (list, windowMs) => {
        expect(maxInSlidingWindow(list, windowMs)).toBe(bruteForce(list, windowMs));
      }),
    );
  });
});

describe('ArrivalWindow (the per-token ring)', () => {
  it('reports, arrival by arrival, what the definition counts, through ring growth', () => {
    const gaps = fc.array(fc.double({ min: 0, max: 120, noNaN: true }), { minLength: 1, maxLength: 300 });
    fc.assert(
      fc.property(gaps, (list) => {
        const window = new ArrivalWindow(1000);
        const times: number[] = [];
        let now = 1_700_000_000_000;
        for (const gap of list) {
          now += gap;
          times.push(now);
          const expected = times.filter((t) => t > now - 1000).length;
          expect(window.arrive(now)).toBe(expected);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('starts empty after clear()', () => {
    const window = new ArrivalWindow(1000);
    window.arrive(1);
    window.arrive(2);
    window.clear();
    expect(window.arrive(3)).toBe(1);
  });
});
