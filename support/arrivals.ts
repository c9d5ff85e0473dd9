/**
 * The aggregate rate of several accounts' arrivals at the upstream, calls/s, from one second after
 * the first call of any of them until the first of them has made its last call: while every
 * account still has work. The rate-limit test asserts it, limiter-burst reports it. 0 when that
 * stretch is empty.
 */
export function aggregateRateAfterFirstSecond(perAccount: readonly (readonly number[])[]): number {
  const from = Math.min(...perAccount.map((times) => Math.min(...times))) + 1000;
  const to = Math.min(...perAccount.map((times) => Math.max(...times)));
  const calls = perAccount.reduce(
    (sum, times) => sum + times.filter((at) => at > from && at <= to).length,
    0,
  );
  return to > from ? (calls * 1000) / (to - from) : 0;
}
