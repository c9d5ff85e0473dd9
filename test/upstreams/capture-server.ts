import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request exactly as it arrived. */
export interface CapturedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** Which TCP connection carried it (1 = the server's first). */
  readonly connection: number;
}

/**
 * What the server does with a request:
 * - an HTTP answer (`body` as text, or an object sent as JSON),
 * - `stall`: never answer, `stall-body`: send headers and half a body, then nothing,
 * - `close`: end the socket without an answer (node:http sees "socket hang up"),
 * - `rst`: reset the connection (TCP RST: ECONNRESET).
 */
export type Answer =
  | { readonly status?: number; readonly body: string | object; readonly contentType?: string }
  | { readonly fault: 'stall' | 'stall-body' | 'close' | 'rst' };

export type Responder = (request: CapturedRequest) => Answer;

export interface CaptureServer {
  readonly baseUrl: string;
  readonly requests: readonly CapturedRequest[];
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Replaces how requests are answered. */
  respond(responder: Responder): void;
  close(): Promise<void>;
}

/** A tiny upstream on 127.0.0.1 that records raw requests and answers what the test says. */
export async function startCaptureServer(
  responder: Responder = () => ({ body: { code: 0 } }),
): Promise<CaptureServer> {
  const requests: CapturedRequest[] = [];
  const sockets = new Map<Socket, number>();
  let respond = responder;

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const captured: CapturedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        connection: sockets.get(req.socket) ?? 0,
      };
      requests.push(captured);
      answer(respond(captured), req, res);
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.set(socket, sockets.size + 1);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    get connections() {
      return sockets.size;
    },
    respond(next) {
      respond = next;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

function answer(what: Answer, req: IncomingMessage, res: ServerResponse): void {
  if ('fault' in what) {
    switch (what.fault) {
      case 'stall':
        return;
      case 'stall-body':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        res.write('{"code":');
        return;
      case 'close':
        req.socket.destroy();
        return;
      case 'rst':
        req.socket.resetAndDestroy();
        return;
    }
  }
  const text = typeof what.body === 'string' ? what.body : JSON.stringify(what.body);
  res.writeHead(what.status ?? 200, {
    'content-type': what.contentType ?? 'application/json; charset=utf-8',
  });
  res.end(text);
}

/** Reads a multipart/form-data body back into its fields, with the platform's own parser. */
export async function formFields(request: CapturedRequest): Promise<Record<string, string>> {
  const parsed = await new Response(request.body, {
    headers: { 'content-type': String(request.headers['content-type']) },
  }).formData();
  const fields: Record<string, string> = {};
  for (const [name, value] of parsed) {
    if (typeof value !== 'string') throw new Error(`field ${name} is a file, not text`);
    if (name in fields) throw new Error(`field ${name} sent twice`);
    fields[name] = value;
  }
  return fields;
}

/** A port nothing listens on: bind one, then let it go. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
