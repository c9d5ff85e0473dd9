import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 that the test can freeze (a server that stays connected but stops
 * answering), and that can hold every chunk `delayMs` each way (a server further away).
 */
export interface TcpProxy {
  readonly port: number;
  /** From now on, bytes from either side are read and dropped: connections stay open, nothing arrives. */
  freeze(): void;
  /** Drops every connection it holds now; it goes on accepting new ones (frozen or not). */
  cut(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(
  targetPort: number,
  targetHost = '127.0.0.1',
  delayMs = 0,
): Promise<TcpProxy> {
  let frozen = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    const pass = (to: Socket) => (chunk: Buffer) => {
      if (frozen) return;
      if (delayMs > 0) setTimeout(() => to.write(chunk), delayMs);
      else to.write(chunk);
    };
    client.on('data', pass(upstream));
    upstream.on('data', pass(client));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    freeze() {
      frozen = true;
    },
    cut() {
      for (const socket of sockets) socket.destroy();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
