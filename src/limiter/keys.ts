/** Redis keys of the limiter. All start with the prefix, so a hash-tagged prefix keeps them in one slot. */
export const limiterKeys = {
  /**
   * Hash: tat (next free slot, µs), the published rate, spacing and margin, the reported lag, and
   * while held: held, reason, code, message, since.
   */
  account: (prefix: string, account: string) => `${prefix}:acct:${account}`,
  /** Sorted set: the jobs parked for their turn (score: the turn's estimate, µs), in line order. */
  line: (prefix: string, account: string) => `${prefix}:acct:${account}:line`,
  /** Set: `${queue}/${jobId}` of jobs parked while the account is held (promoted on resume). */
  parked: (prefix: string, account: string) => `${prefix}:acct:${account}:parked`,
};
