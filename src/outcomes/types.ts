/** What the pipeline does with a job after one upstream call. */
export type OutcomeKind = 'done' | 'retry' | 'dead' | 'hold';

/** How a finished job ended, for its result and the ledger. */
export type DoneResult = 'shipped' | 'already_shipped' | 'synced';

export interface Outcome {
  readonly outcome: OutcomeKind;
  /** The reason a person reads in the dead-letter queue or on a held account (from the table row). */
  readonly reason: string;
  /** The provider's code, or null for a transport failure / unreadable body. */
  readonly code: number | null;
  /** The provider's message (vv-tool msg, damaijia err) or the transport failure's description. */
  readonly message: string;
  /** Set when outcome is 'done'. */
  readonly result?: DoneResult;
}
