import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Secret } from '../config/index.js';
import { createDamaijiaClient } from './damaijia/client.js';
import { createVvtoolClient } from './vvtool/client.js';

/**
 * Runs each client once against a throwaway server on 127.0.0.1, before a worker takes jobs. A
 * process's first HTTP call pays one-time costs (node:http's lazy parts, the first connection, JIT):
 * tens of milliseconds between the limiter's last check and the request leaving, enough to crowd the
 * upstream's sliding second. Paid here instead. Touches nothing outside this machine.
 */
export async function warmUpClients(timeoutMs: number): Promise<void> {
  const server = createServer((_request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end('{"code":0,"status":0,"msg":"warm-up","data":{}}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const token = new Secret('warm-up');
  try {
    const vvtool = createVvtoolClient({ baseUrl, timeoutMs });
    const damaijia = createDamaijiaClient({ baseUrl, timeoutMs });
    for (let round = 0; round < 3; round++) {
      await vvtool.send(token, { tid: '1', shop_id: 'w', out_sid: 'WARMUP1', company_code: 'WU' });
      await damaijia.delivery(token, {
        seller_nick: 'w',
        order_no: 'w',
        wp_code: 'WU',
        waybill_no: 'WARMUP1',
      });
      await damaijia.sync(token, { orderSns: 'w', ownerId: 'w' });
    }
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
