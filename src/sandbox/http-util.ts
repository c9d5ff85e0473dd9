import type { IncomingMessage, ServerResponse } from 'node:http';

/** Bodies above this are refused: the documented requests are a few hundred bytes. */
export const BODY_LIMIT = 1024 * 1024;

export type BodyResult = Buffer | 'aborted' | 'too-large';

/** Reads the whole body, then calls `done` once. */
export function readBody(req: IncomingMessage, done: (body: BodyResult) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const settle = (body: BodyResult) => {
    if (settled) return;
    settled = true;
    done(body);
  };
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= BODY_LIMIT) chunks.push(chunk);
  });
  req.on('end', () => settle(size > BODY_LIMIT ? 'too-large' : Buffer.concat(chunks, size)));
  // A client that goes away mid-body: 'close' comes without 'end'. The error itself says nothing
  // more than that, so it is only listened to, to keep it from being an uncaught 'error' event.
  req.on('error', () => {});
  req.on('close', () => settle('aborted'));
}

export function sendText(res: ServerResponse, status: number, contentType: string, text: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendJson(res: ServerResponse, status: number, text: string): void {
  sendText(res, status, 'application/json; charset=utf-8', text);
}

/** The path of a request target, without its query. */
export function pathOf(target: string | undefined): string {
  const path = target ?? '/';
  const query = path.indexOf('?');
  return query < 0 ? path : path.slice(0, query);
}
