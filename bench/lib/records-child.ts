// The records side of an API process, as `npm run api` runs it without DATABASE_URL (same wiring, from
// workers/lib): the embedded PostgreSQL it owns and the records sink into it, without the HTTP API.
import { startRecords } from '../../src/records/start.js';
import { startServiceProcess } from '../../workers/lib/service-process.js';
import { serveStats, tellParent } from './child-side.js';

const proc = await startServiceProcess('bench-records', [], { apiKeys: true });
if (proc.records === null) throw new Error('no records store: set EMBEDDED_PG_DIR to a directory');
const records = await startRecords({
  config: proc.config,
  url: proc.records.url,
  redis: proc.service.redis,
  log: proc.log,
});
proc.onClose(records.closer);
serveStats([]);
tellParent({ type: 'ready' });
