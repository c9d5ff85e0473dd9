import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExactSum } from '../../src/ledger/exact-sum.js';

function sum(values: readonly number[]): number {
  const s = new ExactSum();
  for (const v of values) s.add(v);
  return s.value();
}

describe('ExactSum', () => {
  it('adds decimals as decimals', () => {
    expect(sum([0.1, 0.2])).toBe(0.3);
    expect(sum([1.005, 2.995])).toBe(4);
    expect(sum([])).toBe(0);
    expect(sum([1e-7, 2e-7])).toBe(3e-7);
    expect(sum([1e21, 1])).toBe(1e21 + 1);
  });

  it('is exact for integers while the total is a safe integer', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 ** 40 }), { maxLength: 200 }), (values) => {
        const want = values.reduce((s, n) => s + BigInt(n), 0n);
        expect(sum(values)).toBe(Number(want));
      }),
    );
  });

  it('gives cents summed in any order the same total', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000_000 }), { maxLength: 100 }), (cents) => {
        const amounts = cents.map((c) => c / 100);
        const total = cents.reduce((s, c) => s + c, 0) / 100;
        expect(sum(amounts)).toBe(total);
        expect(sum([...amounts].reverse())).toBe(total);
      }),
    );
  });

  it('refuses what is not a finite number', () => {
    expect(() => sum([Number.NaN])).toThrow(RangeError);
  });
});
