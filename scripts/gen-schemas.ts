/**
 * Writes the JSON Schema files of the job payloads and request bodies to schemas/, from the TypeBox
 * schemas in src/jobs. Run after changing a shape: npx tsx scripts/gen-schemas.ts
 * (test/jobs/schema-files.test.ts fails while the committed files differ from what this writes).
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { renderSchemaFiles } from '../src/jobs/json-schema.js';

const dir = new URL('../schemas/', import.meta.url);
mkdirSync(dir, { recursive: true });
const files = renderSchemaFiles();
for (const name of readdirSync(dir)) {
  // A file no schema makes any more would otherwise outlive its shape.
  if (name.endsWith('.json') && !files.has(name as never)) rmSync(new URL(name, dir));
}
for (const [name, text] of files) {
  writeFileSync(new URL(name, dir), text);
  console.log(`wrote schemas/${name}`);
}
