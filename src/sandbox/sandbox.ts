import { createServer, get, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { CONTROL_PREFIX, handleControl } from './control.js';
import { pathOf, readBody, sendJson } from './http-util.js';
import { SandboxState } from './state.js';
import type { Sandbox, SandboxOptions } from './types.js';
import { handleUpstreamCall } from './upstream-call.js';

/** Starts both fake upstreams on one port and resolves once it listens. */
export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const state = new SandboxState(options);
  const stalls = new Map<Socket, NodeJS.Timeout>();
  const pending = new Set<NodeJS.Timeout>();
  const later = (send: () => void, ms: number) => {
    const timer = setTimeout(() => {
      pending.delete(timer);
      send();
    }, ms);
    pending.add(timer);
  };

  const stall = (socket: Socket, ms: number) => {
    const timer = setTimeout(() => socket.destroy(), ms);
    stalls.set(socket, timer);
    socket.once('close', () => {
      clearTimeout(timer);
      stalls.delete(socket);
    });
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    // Stamped first, before the body is read: the rate windows and records go by arrival.
    const at = performance.timeOrigin + performance.now();
    const path = pathOf(req.url);
    if (path.startsWith(CONTROL_PREFIX)) return handleControl(state, req, res);
    const api = path.startsWith(state.apis.vvtool.prefix)
      ? state.apis.vvtool
      : path.startsWith(state.apis.damaijia.prefix)
        ? state.apis.damaijia
        : null;
    if (api !== null) return handleUpstreamCall(state, api, req, res, at, stall, later);
    readBody(req, () =>
      sendJson(res, 404, JSON.stringify({ error: `no sandbox route ${req.method} ${path}` })),
    );
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  await warmUp(`${url}${CONTROL_PREFIX}report`);

  let closing: Promise<void> | null = null;
  return {
    url,
    vvtoolBaseUrl: url,
    damaijiaBaseUrl: url,
    script: (provider, orderKey, answers) => state.script(provider, orderKey, answers),
    setFaults: (faults) => state.setFaults(faults),
    setBalance: (label, balance) => state.setBalance(label, balance),
    setLatency: (ms) => state.setLatency(ms),
    balance: (label) => state.balance(label),
    calls: (filter) => state.calls(filter),
    report: () => state.report(),
    reset: () => state.reset(),
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        for (const timer of stalls.values()) clearTimeout(timer);
        for (const timer of pending) clearTimeout(timer);
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive, in-flight and stalled sockets alike: close() means gone.
        server.closeAllConnections();
        for (const socket of stalls.keys()) socket.destroy();
      });
      return closing;
    },
  };
}

/**
 * One request to the sandbox's own read-only report before it is handed out. The sandbox stands for
 * an upstream that has been up for long: its first request on a fresh process (Node's HTTP server
 * path not yet compiled) is stamped ~20 ms late on a busy 2-core host, which would read as our
 * calls arriving bunched when the first call of a test is late at the upstream by that much.
 */
function warmUp(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      res.resume();
      res.once('end', resolve);
    }).once('error', reject);
  });
}
