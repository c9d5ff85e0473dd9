// `npx tsx bench/upstream-cpu.ts [ROOT] [N]`: this process's CPU per upstream call. N calls (5,000 by
// default, after 1,000 to warm up), 20 at a time, through createVvtoolClient(...).send wrapped as the
// processor wraps it (atWire with a check and a WireWatch; in older trees, checkedAtWire around
// WireWatch.timed), against a loopback server in a child
// process, so only the client's CPU is counted. ROOT (default: this checkout) is the tree whose
// src/ is measured: a copy of another commit's tree, with node_modules beside it, compares the two.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const CONCURRENCY = 20;
const WARM_UP = 1_000;

if (process.argv[2] === '--server') serve();
else await measure(resolve(process.argv[2] ?? resolve(dirname(fileURLToPath(import.meta.url)), '..')));

/** The upstream: answers every POST with vv-tool's success body once the request is read. */
function serve(): void {
  const body = JSON.stringify({ code: 0, msg: '成功', data: [{ withholding_money: 1, success: true }] });
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(body);
    });
  });
  server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port));
  // Bounded: gone with its parent, or after two minutes whatever happens.
  process.on('disconnect', () => process.exit(0));
  setTimeout(() => process.exit(0), 120_000).unref();
}

async function measure(root: string): Promise<void> {
  const n = Number(process.argv[3] ?? 5_000);
  const { createVvtoolClient } = await import(`${root}/src/upstreams/index.ts`);
  const { atWire, checkedAtWire } = await import(`${root}/src/upstreams/wire-check.ts`);
  const { WireWatch } = await import(`${root}/src/limiter/wire.ts`);
  const { Secret } = await import(`${root}/src/config/index.ts`);

  const child = fork(fileURLToPath(import.meta.url), ['--server'], { execArgv: process.execArgv });
  const [port] = (await once(child, 'message')) as [number];
  const client = createVvtoolClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 5_000 });
  const wire = new WireWatch();
  const token = new Secret('tok-bench-upstream-cpu');
  const request = {
    tid: '4012345678901234567',
    shop_id: '1234567',
    out_sid: 'YT9876543210',
    company_code: 'YTO',
  };

  const run = async (count: number): Promise<number> => {
    let started = 0;
    let answered = 0;
    const lane = async () => {
      while (started < count) {
        started += 1;
        const checkedAt = performance.now();
        const send = () => client.send(token, request);
        const reply = await (atWire
          ? atWire({ check: () => true, observer: wire, checkedAt }, send)
          : checkedAtWire(
              () => true,
              () => wire.timed(checkedAt, send),
            ));
        if (reply.answered) answered += 1;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, lane));
    return answered;
  };

  try {
    await run(WARM_UP);
    const before = process.cpuUsage();
    const startedAt = performance.now();
    const answered = await run(n);
    const cpu = process.cpuUsage(before);
    const perCall = (us: number) => (us / 1000 / n).toFixed(3);
    console.log(
      `${root}: ${answered}/${n} answered; CPU per call ${perCall(cpu.user + cpu.system)} ms ` +
        `(user ${perCall(cpu.user)}, system ${perCall(cpu.system)}); ` +
        `${((performance.now() - startedAt) / 1000).toFixed(2)} s; wire ${JSON.stringify(wire.stats())}`,
    );
  } finally {
    // Older trees' WireWatch had a close() (a no-op at the end).
    wire.close?.();
    child.kill();
  }
}
