import fc from 'fast-check';
import { Compile } from 'typebox/compile';
import { describe, expect, it } from 'vitest';
import {
  type Issue,
  PAYLOAD_FIELDS,
  schemas,
  validateBatch,
  validateJob,
  validateJobData,
} from '../../src/jobs/index.js';
import { accounts } from './fixtures.js';

const everyField = [
  ...new Set(Object.values(PAYLOAD_FIELDS).flat()),
  'account',
  'type',
  '__proto__',
  'constructor',
];

/** A refusal names something and says something about it. */
function wellFormed(result: { ok: true } | { ok: false; issues: Issue[] }): void {
  if (result.ok) return;
  expect(result.issues.length).toBeGreaterThan(0);
  for (const issue of result.issues) {
    expect(typeof issue.path).toBe('string');
    expect(issue.path.length).toBeGreaterThan(0);
    expect(typeof issue.message).toBe('string');
    expect(issue.message.length).toBeGreaterThan(0);
  }
}

/** Values a field might plausibly hold, valid or not. */
const fieldValue = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom('vv_main', 'dmj-1', 'ghost', 'YTO', 'YT7512345678', '1,2,3', '10,9,100', '0', 0, 1, 2),
  fc.bigInt({ min: 0n, max: 10n ** 21n }).map(String),
  fc.integer({ min: -10, max: Number.MAX_SAFE_INTEGER }),
  fc.constantFrom(2 ** 53, 2 ** 64, -0, 1.5, Number.MAX_VALUE),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.stringMatching(/^[A-Za-z0-9_-]{0,45}$/),
);

const objectOverFields = fc.dictionary(fc.constantFrom(...everyField), fieldValue, { maxKeys: 12 });

describe('for any JSON input', () => {
  it('validateJob never throws, and returns a job or well-formed issues', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('ship' as const, 'sync' as const),
        fc.oneof(fc.jsonValue(), objectOverFields),
        (type, input) => {
          wellFormed(validateJob(type, input, accounts));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('validateJob never throws on parsed JSON text, whose "__proto__" keys are own keys', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        wellFormed(validateJob('ship', JSON.parse(text), accounts));
      }),
      { numRuns: 1000 },
    );
  });

  it('validateJobData and validateBatch never throw either', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('vvtool.send' as const, 'damaijia.delivery' as const, 'damaijia.sync' as const),
        fc.oneof(fc.jsonValue(), objectOverFields),
        fc.oneof(
          fc.jsonValue(),
          fc.record({ jobs: fc.array(fc.oneof(objectOverFields, fc.jsonValue()), { maxLength: 5 }) }),
        ),
        (name, data, batch) => {
          wellFormed(validateJobData(name, data, accounts));
          wellFormed(validateBatch(batch, accounts));
        },
      ),
      { numRuns: 1000 },
    );
  });
});

/**
 * The validator explains, the TypeBox schema decides: for a configured account of the right provider,
 * validateJob accepts exactly what the schema accepts. Guards against a rule written twice, differently.
 */
describe('validateJob agrees with the schema', () => {
  const cases = [
    { type: 'ship' as const, account: 'vv_main', name: 'vvtool.send' as const },
    { type: 'ship' as const, account: 'dmj-1', name: 'damaijia.delivery' as const },
    { type: 'sync' as const, account: 'dmj-1', name: 'damaijia.sync' as const },
  ];
  it.each(cases)('$name', ({ type, account, name }) => {
    const check = Compile(schemas[name]);
    const own = PAYLOAD_FIELDS[name];
    // Mostly this job's own fields, so that valid payloads come up as often as invalid ones.
    const mostlyValid = (field: string) =>
      fc.oneof({ weight: 4, arbitrary: validValue(field) }, { weight: 1, arbitrary: fieldValue });
    const shape = Object.fromEntries(own.map((field) => [field, mostlyValid(field)]));
    const required = own.filter((field) => (schemas[name].required as readonly string[]).includes(field));
    const payload = fc.oneof(
      { weight: 3, arbitrary: fc.record(shape, { requiredKeys: required }) },
      { weight: 1, arbitrary: fc.record(shape, { requiredKeys: [] }) },
    );
    const extra = fc.dictionary(fc.constantFrom(...everyField.filter((f) => f !== 'account')), fieldValue, {
      maxKeys: 1,
    });
    let accepted = 0;
    fc.assert(
      fc.property(payload, fc.option(extra, { freq: 5 }), (fields, more) => {
        const input = { ...(more ?? {}), ...fields, account };
        const result = validateJob(type, input, accounts);
        expect(result.ok, JSON.stringify(result.ok ? null : result.issues)).toBe(check.Check(input));
        if (result.ok) {
          accepted += 1;
          expect(check.Check(result.job.data)).toBe(true);
          expect(result.job.id ?? '').not.toContain(':');
        }
      }),
      { numRuns: 1500 },
    );
    expect(accepted).toBeGreaterThan(50);
  });
});

function validValue(field: string): fc.Arbitrary<unknown> {
  const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 });
  switch (field) {
    case 'tid':
    case 'sender_id':
    case 'cancel_id':
      return fc.oneof(fc.stringMatching(/^[0-9]{1,20}$/), fc.maxSafeNat());
    case 'sub_tid':
      return fc
        .array(fc.stringMatching(/^[0-9]{1,20}$/), { minLength: 1, maxLength: 5 })
        .map((ids) => ids.join(','));
    case 'is_split':
      return fc.constantFrom(0, 1);
    case 'vvtype':
      return fc.constantFrom(1, 2);
    case 'company_code':
    case 'wp_code':
      return fc.stringMatching(/^[A-Za-z0-9_]{2,32}$/);
    case 'out_sid':
    case 'waybill_no':
      return fc.stringMatching(/^[A-Za-z0-9-]{6,40}$/);
    default:
      return text;
  }
}
