/**
 * A sum of amounts as exact decimals: 0.1 + 0.2 is 0.3 here, and integer coupons stay exact past
 * 2^53 until the final conversion. Each number is taken at its shortest decimal form (what
 * JSON.stringify wrote into Redis), so the sum is the decimal sum of what the upstreams reported.
 */
export class ExactSum {
  private units = 0n;
  private scale = 0;

  add(n: number): void {
    const [units, scale] = toDecimal(n);
    if (scale > this.scale) {
      this.units *= 10n ** BigInt(scale - this.scale);
      this.scale = scale;
    }
    this.units += units * 10n ** BigInt(this.scale - scale);
  }

  /** The nearest number to the exact sum. */
  value(): number {
    if (this.scale === 0) return Number(this.units);
    const negative = this.units < 0n;
    const digits = (negative ? -this.units : this.units).toString().padStart(this.scale + 1, '0');
    const cut = digits.length - this.scale;
    return Number(`${negative ? '-' : ''}${digits.slice(0, cut)}.${digits.slice(cut)}`);
  }
}

const NUMBER_TEXT = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/;

/** `n` as (integer units, decimal places): 1.25 → [125n, 2]; 1e21 → [10n ** 21n, 0]. */
function toDecimal(n: number): [bigint, number] {
  if (!Number.isFinite(n)) throw new RangeError(`not a finite amount: ${n}`);
  const m = NUMBER_TEXT.exec(String(n));
  if (!m) throw new RangeError(`unexpected number form: ${n}`);
  const [, sign = '', whole = '0', fraction = '', exponent = '0'] = m;
  let units = BigInt(`${sign}${whole}${fraction}`);
  let scale = fraction.length - Number(exponent);
  if (scale < 0) {
    units *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return [units, scale];
}
