import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { REF_CONTEXT } from './components.js';

/**
 * Request validation with TypeBox's compiler (the schemas are TypeBox, and `typebox` is ours; Fastify's
 * default Ajv would coerce body types and strip unknown fields, where we want them refused).
 *
 * Query strings and path parameters arrive as text: a property declared as an integer is converted
 * only when it is written as one (`limit=10`), so `limit=1.5` or `limit=ten` is refused rather than
 * rounded or dropped. Bodies are checked as sent, no conversion. A `$ref` names one of the components
 * (components.ts), the schemas Fastify and the OpenAPI document share.
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = Compile(REF_CONTEXT, schema);
  const convert = httpPart === 'body' ? undefined : integerProperties(schema);
  return (value: unknown) => {
    const input = convert ? convertIntegers(value, convert) : value;
    if (check.Check(input)) return { value: input };
    return { error: check.Errors(input) as unknown as Error };
  };
};

/**
 * For job bodies (ship, sync, batch): the producer library validates them with the same TypeBox
 * schemas, knows the configured accounts (a ship body's fields depend on its account's provider), and
 * names each problem by field. A union schema checked here would report every branch that did not
 * match instead. The route keeps its schema for the OpenAPI document.
 */
export const libraryValidatedBody: FastifySchemaCompiler<TSchema> = (route) =>
  route.httpPart === 'body' ? (value: unknown) => ({ value }) : validatorCompiler(route);

const INTEGER_TEXT = /^-?(0|[1-9][0-9]{0,15})$/;

function integerProperties(schema: TSchema): Set<string> {
  const names = new Set<string>();
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
  for (const [name, property] of Object.entries(properties)) if (property.type === 'integer') names.add(name);
  return names;
}

function convertIntegers(value: unknown, names: ReadonlySet<string>): unknown {
  if (names.size === 0 || typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const name of names) {
    const text = out[name];
    if (typeof text === 'string' && INTEGER_TEXT.test(text)) out[name] = Number(text);
  }
  return out;
}
