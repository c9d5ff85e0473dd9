/**
 * Text fields of a multipart/form-data or application/x-www-form-urlencoded body, as vv-tool reads
 * them. Our own small parser (RFC 7578) instead of a dependency: the sandbox needs text fields only.
 */

export class FormBodyError extends Error {
  override readonly name = 'FormBodyError';
}

const CRLF = Buffer.from('\r\n');
const BLANK_LINE = Buffer.from('\r\n\r\n');
const DASH = 0x2d;

/** Fields of a form body by content type; an unknown content type has no fields. Last value wins, as in PHP. */
export function parseFormBody(contentType: string | undefined, body: Buffer): Record<string, string> {
  const type = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type === 'multipart/form-data') {
    const boundary = boundaryOf(contentType ?? '');
    if (boundary === null) throw new FormBodyError('multipart body without a boundary');
    return parseMultipart(body, boundary);
  }
  if (type === 'application/x-www-form-urlencoded') {
    return Object.fromEntries(new URLSearchParams(body.toString('utf8')));
  }
  return {};
}

export function boundaryOf(contentType: string): string | null {
  const match = /;\s*boundary=(?:"([^"]{1,70})"|([^;\s]{1,70}))/i.exec(contentType);
  return match ? (match[1] ?? match[2] ?? null) : null;
}

/** Parses the text fields of a multipart/form-data body; file parts (with a filename) are skipped. */
export function parseMultipart(body: Buffer, boundary: string): Record<string, string> {
  const opening = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const fields = new Map<string, string>();

  // The first delimiter may follow a preamble, which is ignored.
  let at = body.subarray(0, opening.length).equals(opening) ? 0 : body.indexOf(delimiter);
  if (at < 0) throw new FormBodyError('multipart body without its boundary');
  at += at === 0 ? opening.length : delimiter.length;

  for (;;) {
    if (body[at] === DASH && body[at + 1] === DASH) return Object.fromEntries(fields);
    // Transport padding (spaces, tabs) may follow a delimiter before its line break.
    while (body[at] === 0x20 || body[at] === 0x09) at++;
    if (body.compare(CRLF, 0, 2, at, at + 2) !== 0) throw new FormBodyError('malformed multipart delimiter');
    // Searching from the delimiter's own line break also finds a part that has no headers at all.
    const headerEnd = body.indexOf(BLANK_LINE, at);
    if (headerEnd < 0) throw new FormBodyError('multipart part without a blank line after its headers');
    const contentStart = headerEnd + BLANK_LINE.length;
    const next = body.indexOf(delimiter, contentStart);
    if (next < 0) throw new FormBodyError('multipart body is not closed by its boundary');
    const name = fieldName(body.toString('utf8', at + 2, Math.max(at + 2, headerEnd)));
    if (name !== null) fields.set(name, body.toString('utf8', contentStart, next));
    at = next + delimiter.length;
  }
}

/** The field name of a text part, or null for a file part or a part that is not form-data. */
function fieldName(headers: string): string | null {
  for (const line of headers.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim().toLowerCase() !== 'content-disposition') continue;
    const value = line.slice(colon + 1);
    if (!/^\s*form-data\s*(;|$)/i.test(value)) return null;
    if (/;\s*filename\*?=/i.test(value)) return null;
    const match = /;\s*name=(?:"([^"]*)"|([^;\s]+))/i.exec(value);
    if (!match) return null;
    const quoted = match[1];
    // The WHATWG encoding escapes these three in names; nothing else is escaped.
    return quoted === undefined
      ? (match[2] ?? null)
      : quoted.replace(/%22|%0D|%0A/gi, (code) => ESCAPES[code.toUpperCase()] ?? code);
  }
  return null;
}

const ESCAPES: Readonly<Record<string, string>> = { '%22': '"', '%0D': '\r', '%0A': '\n' };
