// Runs the migrations once against DATABASE_URL and prints the versions this process applied.
import { migrate } from '../../src/records/migrate.js';
import { createPool } from '../../src/records/pool.js';

const pool = createPool(process.env.DATABASE_URL ?? '', () => {});
const applied = await migrate(pool);
process.stdout.write(`applied ${JSON.stringify(applied)}\n`);
await pool.end();
