/** Why the ledger refused a call; the API maps `bad_query` and `bad_cursor` to a 400. */
export type LedgerErrorKind = 'bad_context' | 'bad_settlement' | 'bad_query' | 'bad_cursor' | 'corrupt';

export class LedgerError extends Error {
  override readonly name = 'LedgerError';
  readonly kind: LedgerErrorKind;

  constructor(kind: LedgerErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}
