import ky from 'ky';

/** One vv-tool send as a bare worker makes it: resolves with the provider code the body says. */
export type UpstreamCall = (
  token: string,
  fields: Readonly<Record<string, string>>,
) => Promise<number | null>;

const SEND_PATH = '/tool/erps/send';

function form(fields: Readonly<Record<string, string>>): FormData {
  const body = new FormData();
  for (const [name, value] of Object.entries(fields)) body.append(name, value);
  return body;
}

function codeOf(body: unknown): number | null {
  const code = typeof body === 'object' && body !== null ? (body as { code?: unknown }).code : undefined;
  return typeof code === 'number' ? code : null;
}

/** The same ky call the product makes: one instance, no retries, a timeout, every status an answer. */
export function kyCall(baseUrl: string, timeoutMs: number): UpstreamCall {
  const http = ky.create({ retry: 0, timeout: timeoutMs, throwHttpErrors: false });
  const url = `${baseUrl}${SEND_PATH}`;
  return async (token, fields) => {
    const response = await http.post(url, {
      body: form(fields),
      headers: { authorization: `Bearer ${token}` },
    });
    return codeOf(await response.json());
  };
}

/** The thinner ceiling: Node's fetch directly. */
export function fetchCall(baseUrl: string, timeoutMs: number): UpstreamCall {
  const url = `${baseUrl}${SEND_PATH}`;
  return async (token, fields) => {
    const response = await fetch(url, {
      method: 'POST',
      body: form(fields),
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    return codeOf(await response.json());
  };
}
