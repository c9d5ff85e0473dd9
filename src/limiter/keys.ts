/** Redis keys of the limiter. All start with the prefix, so a hash-tagged prefix keeps them in one slot. */
export const limiterKeys = {
  /** Hash: tat (next free slot, µs), held, reason, code, message, since. */
  account: (prefix: string, account: string) => `${prefix}:acct:${account}`,
  /** Hash: jobId → reserved slot (µs) for jobs parked until their turn. */
  reservations: (prefix: string, account: string) => `${prefix}:acct:${account}:res`,
  /** Set: `${queue}/${jobId}` of jobs parked while the account is held (promoted on resume). */
  parked: (prefix: string, account: string) => `${prefix}:acct:${account}:parked`,
};
