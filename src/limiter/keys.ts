/** Redis keys of the limiter. All start with the prefix, so a hash-tagged prefix keeps them in one slot. */
export const limiterKeys = {
  /**
   * Hash: turn (next turn to hand out, µs), rate and margin (µs) as last published, lag and lagAt,
   * held, reason, code, message, since.
   */
  account: (prefix: string, account: string) => `${prefix}:acct:${account}`,
  /** Hash: jobId → the turn (µs) of a job parked until then. A turn is not a slot: see the gate. */
  tickets: (prefix: string, account: string) => `${prefix}:acct:${account}:res`,
  /** List, newest first: the slots (µs) of the account's most recent grants, at most `rate` of them. */
  log: (prefix: string, account: string) => `${prefix}:acct:${account}:log`,
  /** Set: `${queue}/${jobId}` of jobs parked while the account is held (promoted on resume). */
  parked: (prefix: string, account: string) => `${prefix}:acct:${account}:parked`,
};
