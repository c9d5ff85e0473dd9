import { describe, expect, it } from 'vitest';
import { HttpError, validationIssues } from '../../src/api/errors.js';
import { findForbiddenKey, parseJsonBody } from '../../src/api/json-body.js';
import { parseRange, parseTime } from '../../src/api/time.js';

describe('parseTime', () => {
  const accepted: Array<[string, number]> = [
    ['0', 0],
    ['1714521600000', Date.UTC(2024, 4, 1)],
    ['2024-05-01', Date.UTC(2024, 4, 1)],
    ['2024-05-01T08:30', Date.UTC(2024, 4, 1, 8, 30)],
    ['2024-05-01T08:30:15Z', Date.UTC(2024, 4, 1, 8, 30, 15)],
    ['2024-05-01T08:30:15.5Z', Date.UTC(2024, 4, 1, 8, 30, 15, 500)],
    ['2024-05-01T08:30:15.123456789Z', Date.UTC(2024, 4, 1, 8, 30, 15, 123)],
    ['2024-05-01T10:30:15+02:00', Date.UTC(2024, 4, 1, 8, 30, 15)],
    ['2024-05-01T03:00:00-0530', Date.UTC(2024, 4, 1, 8, 30)],
    ['2024-05-01T00:10:00-00:30', Date.UTC(2024, 4, 1, 0, 40)],
    ['2024-02-29', Date.UTC(2024, 1, 29)],
  ];
  for (const [text, ms] of accepted) {
    it(`reads ${text}`, () => expect(parseTime('from', text)).toBe(ms));
  }

  const refused = [
    '',
    'now',
    '-1',
    '1.5',
    '2024-5-1',
    '2024-02-30',
    '2023-02-29',
    '2024-13-01',
    '2024-05-01T24:00:00Z',
    '2024-05-01T08:60Z',
    '9999999999999999',
  ];
  for (const text of refused) {
    it(`refuses ${JSON.stringify(text)} naming the field`, () => {
      let caught: unknown;
      try {
        parseTime('to', text);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(HttpError);
      expect((caught as HttpError).statusCode).toBe(400);
      expect((caught as HttpError).issues.map((issue) => issue.path)).toEqual(['to']);
    });
  }

  it('leaves an absent bound absent, refuses from after to', () => {
    expect(parseTime('from', undefined)).toBeUndefined();
    expect(parseRange({})).toEqual({});
    expect(parseRange({ from: '5', to: '5' })).toEqual({ from: 5, to: 5 });
    expect(() => parseRange({ from: '6', to: '5' })).toThrow(HttpError);
  });
});

describe('parseJsonBody', () => {
  it('parses JSON and refuses prototype keys anywhere, naming the path', () => {
    expect(parseJsonBody('{"a":[1,{"b":2}]}')).toEqual({ a: [1, { b: 2 }] });
    expect(findForbiddenKey(JSON.parse('{"a":[1,{"__proto__":{}}]}'))).toBe('a.1.__proto__');
    expect(findForbiddenKey(JSON.parse('{"constructor":{"prototype":{}}}'))).toBe('constructor');
    expect(findForbiddenKey(JSON.parse('{"a":{"prototype":1}}'))).toBe('a.prototype');
    expect(findForbiddenKey(JSON.parse('{"proto":1,"__proto":2}'))).toBeNull();
  });

  it('walks deep nesting without recursion', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(findForbiddenKey(JSON.parse(deep))).toBeNull();
  });
});

describe('validationIssues', () => {
  it('turns schema errors into dotted paths, one issue per field and problem', () => {
    const issues = validationIssues(
      [
        { keyword: 'required', instancePath: '/jobs/3', params: { requiredProperties: ['tid', 'account'] } },
        { keyword: 'required', instancePath: '', params: { missingProperty: 'jobs' } },
        { keyword: 'maximum', instancePath: '/limit', message: 'must be <= 1000' },
        { keyword: 'boolean', instancePath: '/extra', message: 'schema is false' },
        { keyword: 'additionalProperties', instancePath: '', params: { additionalProperties: ['extra'] } },
        { keyword: 'const', instancePath: '/queue', params: { allowedValue: 'ship' } },
        { keyword: 'const', instancePath: '/queue', params: { allowedValue: 'sync' } },
        { keyword: 'anyOf', instancePath: '/queue', message: 'must match a schema in anyOf' },
        { keyword: 'type', instancePath: '/a~1b', message: 'must be string' },
      ],
      'querystring',
    );
    expect(issues).toEqual([
      { path: 'jobs.3.tid', message: 'is required' },
      { path: 'jobs.3.account', message: 'is required' },
      { path: 'jobs', message: 'is required' },
      { path: 'limit', message: 'must be <= 1000' },
      { path: 'extra', message: 'unknown field' },
      { path: 'a/b', message: 'must be string' },
      { path: 'queue', message: 'must be one of ship, sync' },
    ]);
  });

  it('names the part of the request for a problem with it as a whole', () => {
    expect(
      validationIssues([{ keyword: 'type', instancePath: '', message: 'must be object' }], 'body'),
    ).toEqual([{ path: 'body', message: 'must be object' }]);
    expect(validationIssues([], 'querystring')).toEqual([{ path: 'query', message: 'is not valid' }]);
  });
});
