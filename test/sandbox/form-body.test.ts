import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boundaryOf, FormBodyError, parseFormBody, parseMultipart } from '../../src/sandbox/form-body.js';

/** What Node's fetch sends for a FormData: `new Response(form)` runs the same undici encoder. */
async function encode(data: FormData | URLSearchParams): Promise<{ contentType: string; body: Buffer }> {
  const res = new Response(data);
  return { contentType: res.headers.get('content-type')!, body: Buffer.from(await res.arrayBuffer()) };
}

describe('multipart/form-data parser against Node FormData', () => {
  it('reads the fields of the vv-tool request example', async () => {
    const data = new FormData();
    data.append('tid', '123');
    data.append('out_sid', '123456789');
    data.append('company_code', 'POST');
    data.append('shop_id', '1234567');
    const { contentType, body } = await encode(data);
    expect(parseFormBody(contentType, body)).toEqual({
      tid: '123',
      out_sid: '123456789',
      company_code: 'POST',
      shop_id: '1234567',
    });
  });

  it('keeps UTF-8, empty values, dashes and line breaks (sent as CRLF) in values', async () => {
    const data = new FormData();
    data.append('feature', 'identCode=tid1:识别码 1,识别码 2|tid2:识别码 3');
    data.append('empty', '');
    data.append('dashes', '--not-a-boundary--');
    data.append('lines', 'a\nb\r\nc');
    const { contentType, body } = await encode(data);
    expect(parseFormBody(contentType, body)).toEqual({
      feature: 'identCode=tid1:识别码 1,识别码 2|tid2:识别码 3',
      empty: '',
      dashes: '--not-a-boundary--',
      lines: 'a\r\nb\r\nc',
    });
  });

  it('decodes the escapes FormData puts in names, and skips file parts', async () => {
    const data = new FormData();
    data.append('a"b', '1');
    data.append('file', new Blob(['binary']), 'label.pdf');
    data.append('after', '2');
    const { contentType, body } = await encode(data);
    expect(parseFormBody(contentType, body)).toEqual({ 'a"b': '1', after: '2' });
  });

  it('keeps the last value of a repeated field, as PHP does', async () => {
    const data = new FormData();
    data.append('tid', '1');
    data.append('tid', '2');
    const { contentType, body } = await encode(data);
    expect(parseFormBody(contentType, body)).toEqual({ tid: '2' });
  });

  it('round-trips any text fields', async () => {
    const name = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !/[\r\n"%]/.test(s));
    const value = fc.string({ maxLength: 40, unit: 'grapheme' }).map((s) => s.replace(/\r\n|\r|\n/g, '\r\n'));
    await fc.assert(
      fc.asyncProperty(fc.dictionary(name, value, { maxKeys: 8 }), async (fields) => {
        const data = new FormData();
        for (const [key, text] of Object.entries(fields)) data.append(key, text);
        const { contentType, body } = await encode(data);
        expect(parseFormBody(contentType, body)).toEqual({ ...fields });
      }),
      { numRuns: 200 },
    );
  });

  it('handles a quoted boundary, a preamble and a part without headers', () => {
    const body = Buffer.from(
      'preamble\r\n--xyz\r\nContent-Disposition: form-data; name="tid"\r\n\r\n42\r\n--xyz\r\n\r\nno headers\r\n--xyz--\r\n',
    );
    expect(boundaryOf('multipart/form-data; boundary="xyz"')).toBe('xyz');
    expect(parseFormBody('multipart/form-data; boundary="xyz"', body)).toEqual({ tid: '42' });
  });

  it('refuses a body that does not hold its boundary or is not closed', () => {
    expect(() => parseMultipart(Buffer.from('tid=1'), 'xyz')).toThrow(FormBodyError);
    const open = Buffer.from('--xyz\r\nContent-Disposition: form-data; name="tid"\r\n\r\n42');
    expect(() => parseMultipart(open, 'xyz')).toThrow(FormBodyError);
    expect(() => parseFormBody('multipart/form-data', Buffer.from(''))).toThrow(FormBodyError);
  });
});

describe('other content types', () => {
  it('reads application/x-www-form-urlencoded as URLSearchParams writes it', async () => {
    const { contentType, body } = await encode(
      new URLSearchParams({ tid: '7', shop_id: 'a b&c', msg: '中文' }),
    );
    expect(parseFormBody(contentType, body)).toEqual({ tid: '7', shop_id: 'a b&c', msg: '中文' });
  });

  it('finds no fields in JSON or a missing content type', () => {
    expect(parseFormBody('application/json', Buffer.from('{"tid":"1"}'))).toEqual({});
    expect(parseFormBody(undefined, Buffer.from('tid=1'))).toEqual({});
  });
});
