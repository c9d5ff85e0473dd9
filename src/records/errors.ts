export type RecordsErrorKind = 'migration' | 'corrupt';

/** Something wrong with the records store itself (not a passing outage, which is retried). */
export class RecordsError extends Error {
  override readonly name = 'RecordsError';

  constructor(
    readonly kind: RecordsErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
