import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A credential that refuses to be printed. Tokens, API keys and passwords are held in one of these
 * from the moment they are read, so a stray `log.info(config)`, `JSON.stringify(account)` or template
 * string shows `[redacted]` instead of the value. Redaction in the logger is the net; this is the
 * first line of defence. Only `reveal()` gives the value, and only the HTTP clients and the
 * constant-time comparisons call it.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
