import type { AccountState } from './accounts.js';
import type { SandboxOperation, SandboxProvider } from './types.js';

/** What one call is answered, before its provider renders the body. */
export interface Reply {
  /** 200 for every documented answer; the providers answer their errors inside the body. */
  readonly httpStatus: number;
  /** vv-tool `code` / damaijia `status`. */
  readonly code: number;
  readonly msg: string;
  /** damaijia's hint (`err`). */
  readonly err?: string;
  readonly charged: number;
  /** The success payload, rendered in the provider's own shape. */
  readonly data?: unknown;
}

export interface ParsedBody {
  /** Every field as text, for the record and for processing. */
  readonly fields: Record<string, string>;
  /** Why the body could not be read, or null. */
  readonly problem: string | null;
  /** Fields whose value is neither text nor a number (a JSON object, say): present but unusable. */
  readonly invalid: readonly string[];
}

export interface CallContext {
  readonly operation: SandboxOperation;
  readonly body: ParsedBody;
  readonly account: AccountState;
  /** Arrival, epoch ms. */
  readonly at: number;
  /** What a success charges (the price, or a script's `charge`). */
  readonly price: number;
}

/** One upstream's wire format: routes, auth header, body, processing and answer shape. */
export interface ProviderApi {
  readonly provider: SandboxProvider;
  /** The URL path prefix this provider owns, e.g. '/tool/'. */
  readonly prefix: string;
  route(method: string | undefined, path: string): SandboxOperation;
  /** The token the Authorization header carries in this provider's form, or null. */
  token(authorization: string | undefined): string | null;
  parse(contentType: string | undefined, body: Buffer): ParsedBody;
  orderKey(operation: SandboxOperation, fields: Record<string, string>): string | null;
  /** Real processing: validation, order book, balance, charge. */
  process(call: CallContext): Reply;
  /** An answer of this code without processing (scripts, refusals). */
  reply(code: number, msg?: string, err?: string, charged?: number): Reply;
  unknownRoute(): Reply;
  authFailed(): Reply;
  /** The JSON body text of a reply; `at` is the arrival, for the answer's timing fields. */
  render(reply: Reply, at: number): string;
  /** The body of an HTTP 429 (rate limit or injected fault). */
  readonly tooManyBody: string;
  /** Forgets the order book. */
  clear(): void;
}

/** A field's text when it is given (present and not blank), else null. */
export function given(fields: Record<string, string>, name: string): string | null {
  const value = fields[name];
  return value === undefined || value.trim() === '' ? null : value.trim();
}
