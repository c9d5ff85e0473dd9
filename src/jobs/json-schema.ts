import { schemas } from './schemas.js';

/**
 * The JSON Schema files (draft-07, which Fastify's Ajv and most languages' validators speak) for
 * producers in other languages, made from the same TypeBox schemas the service validates with.
 * scripts/gen-schemas.ts writes them to schemas/; a test fails when the committed files drift.
 */
export const SCHEMA_FILES = {
  'vvtool.send.json': 'vvtool.send',
  'damaijia.delivery.json': 'damaijia.delivery',
  'damaijia.sync.json': 'damaijia.sync',
  'ship-request.json': 'shipRequest',
  'sync-request.json': 'syncRequest',
  'batch-request.json': 'batchRequest',
} as const satisfies Record<string, keyof typeof schemas>;

export type SchemaFile = keyof typeof SCHEMA_FILES;

export const JSON_SCHEMA_DRAFT = 'http://json-schema.org/draft-07/schema#';

export function schemaDocument(file: SchemaFile): Record<string, unknown> {
  // JSON keeps only the schema: TypeBox's own markers ('~kind', codec functions) are not enumerable.
  const plain = JSON.parse(JSON.stringify(schemas[SCHEMA_FILES[file]])) as Record<string, unknown>;
  return {
    $schema: JSON_SCHEMA_DRAFT,
    $id: `urn:fulfillment-worker:schema:${file.replace(/\.json$/, '')}`,
    title: plain['title'],
    description: plain['description'],
    ...plain,
  };
}

/** File name → file text, exactly as committed. */
export function renderSchemaFiles(): Map<SchemaFile, string> {
  const files = new Map<SchemaFile, string>();
  for (const file of Object.keys(SCHEMA_FILES) as SchemaFile[]) {
    files.set(file, `${JSON.stringify(schemaDocument(file), null, 2)}\n`);
  }
  return files;
}
