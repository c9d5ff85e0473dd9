import Type, { IsCodec, type TObject, type TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import { MAX_SAFE_ID } from './fields.js';
import { type Issue, ROOT_PATH } from './issues.js';

/**
 * Rules read off a TypeBox object schema, to name every problem in words for people. The schema
 * decides what is valid (each field is checked by its own compiled TypeBox validator, and the whole
 * object by the object's); this module only explains, so it cannot drift from the schema.
 */
export interface FieldRule {
  readonly required: boolean;
  check(value: unknown): boolean;
  /** Why a value that failed `check` is wrong, e.g. "must be a string of 1-20 digits (…)". */
  explain(value: unknown): string;
  /** A value that passed `check`, decoded by the schema's codec (a numeric id to its digit string). */
  decode(value: unknown): unknown;
}

export interface ObjectRules {
  /** In the schema's property order. */
  readonly fields: ReadonlyMap<string, FieldRule>;
  /** draft-07 `dependencies`: when the key is present, each listed field must be too. */
  readonly together: readonly (readonly [string, readonly string[]])[];
  /** The whole object's validator: the last word on validity. */
  readonly validator: Validator;
}

export function rulesOf(schema: TObject): ObjectRules {
  const required = new Set<string>(schema.required ?? []);
  const fields = new Map<string, FieldRule>();
  for (const [name, field] of Object.entries(schema.properties)) {
    fields.set(name, fieldRule(field, required.has(name)));
  }
  const dependencies = (schema as { dependencies?: Record<string, readonly string[]> }).dependencies ?? {};
  return { fields, together: Object.entries(dependencies), validator: Compile(schema) };
}

/**
 * Each field is checked and decoded as the one property of a small object: TypeBox applies a codec
 * only below an object, and its Decode copies the value into an ordinary object first, where an
 * inherited property (a polluted Object.prototype) could stand in for a missing one. A wrapper whose
 * one property is always present leaves nothing to inherit.
 */
function fieldRule(schema: TSchema, required: boolean): FieldRule {
  const validator = Compile(Type.Object({ value: schema }));
  const decodeWhole = (value: unknown) => validator.Decode({ value }).value;
  return {
    required,
    check: (value) => validator.Check({ value }),
    explain: (value) => explain(schema, value, required),
    decode: fastDecode(schema, decodeWhole),
  };
}

/**
 * TypeBox's Decode clones and walks the value (about 10 µs a field), which is most of the cost of
 * validating a job. A checked primitive whose schema has no codec decodes to itself, and one whose
 * only codec is at the top decodes by that codec alone; anything else goes the whole way.
 */
function fastDecode(schema: TSchema, decodeWhole: (value: unknown) => unknown): (value: unknown) => unknown {
  if (hasCodecWithin(schema, true)) return decodeWhole;
  const top: ((value: unknown) => unknown) | undefined = IsCodec(schema)
    ? schema['~codec'].decode
    : undefined;
  return (value) => {
    if (value !== null && typeof value === 'object') return decodeWhole(value);
    return top ? top(value) : value;
  };
}

/** Whether a codec sits anywhere below the top of the schema (or at the top, unless `belowOnly`). */
function hasCodecWithin(node: unknown, belowOnly = false): boolean {
  if (node === null || typeof node !== 'object') return false;
  if (!belowOnly && Object.hasOwn(node, '~codec')) return true;
  for (const [key, child] of Object.entries(node)) {
    if (key !== '~codec' && hasCodecWithin(child)) return true;
  }
  return false;
}

interface Annotated {
  description?: unknown;
  maxLength?: unknown;
  type?: unknown;
  anyOf?: unknown;
}

function explain(field: TSchema, value: unknown, required: boolean): string {
  const schema = field as Annotated;
  const rule = typeof schema.description === 'string' ? `must be ${schema.description}` : 'is not valid';
  if (
    typeof value === 'number' &&
    Number.isInteger(value) &&
    value > MAX_SAFE_ID &&
    acceptsIntegers(schema)
  ) {
    return `is a JSON number above ${MAX_SAFE_ID}, past which numbers lose digits: send it as a string of 1-20 digits`;
  }
  if (value === null) return required ? `${rule}, not null` : `${rule}, or be left out (not null)`;
  if (typeof value === 'string') {
    if (value === '') return `${rule}; got an empty string`;
    const length = [...value].length;
    if (typeof schema.maxLength === 'number' && length > schema.maxLength) {
      return `${rule}; got ${length} characters`;
    }
    return rule;
  }
  if (Array.isArray(value)) return `${rule}; got an array`;
  if (typeof value === 'object') return `${rule}; got an object`;
  if (typeof value === 'boolean') return `${rule}; got ${value}`;
  return rule;
}

function acceptsIntegers(schema: Annotated): boolean {
  if (schema.type === 'integer') return true;
  return Array.isArray(schema.anyOf) && schema.anyOf.some((s: Annotated) => s.type === 'integer');
}

/**
 * TypeBox's own errors as issues. Only reached if the object validator refuses what the field
 * rules passed, which the tests say does not happen; it keeps the schema the last word regardless.
 */
export function schemaIssues(validator: Validator, value: unknown): Issue[] {
  const seen = new Set<string>();
  const issues: Issue[] = [];
  for (const error of validator.Errors(value)) {
    const path = error.instancePath.split('/').slice(1).map(unescapePointer).join('.') || ROOT_PATH;
    const id = `${path}\n${error.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    issues.push({ path, message: error.message });
  }
  return issues.length > 0 ? issues : [{ path: ROOT_PATH, message: 'does not match the schema' }];
}

function unescapePointer(token: string): string {
  return token.replaceAll('~1', '/').replaceAll('~0', '~');
}
