import type { OpenApiDocument } from './openapi.js';

type Json = Record<string, unknown>;

/**
 * A browsable page of the OpenAPI document, rendered on the server into one self-contained HTML file:
 * no script, no external asset (the service may run where the internet is not reachable).
 */
export function docsPage(doc: OpenApiDocument): string {
  const sections = Object.entries(doc.paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, op]) => operationSection(method, path, op)),
  );
  const index = Object.entries(doc.paths)
    .flatMap(([path, operations]) =>
      Object.entries(operations).map(
        ([method, op]) =>
          `<li><a href="#${anchor(method, path)}"><code>${method.toUpperCase()} ${esc(path)}</code></a> ${esc(String(op['summary'] ?? ''))}</li>`,
      ),
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.info.title)}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}
code,pre{font:13px ui-monospace,monospace}pre{background:#f5f5f5;padding:.75em;overflow:auto}
section{border-top:1px solid #ddd;padding:.5em 0}h2 code{font-size:17px}.m{display:inline-block;min-width:4.5em;font-weight:bold}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left;vertical-align:top}
.key{color:#a40}
</style></head><body>
<h1>${esc(doc.info.title)} <small>${esc(doc.info.version)}</small></h1>
<p>${esc(doc.info.description)}</p>
<p>The machine-readable document: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${esc(doc.openapi)}).</p>
<ul>${index}</ul>
${sections.join('\n')}
</body></html>
`;
}

function operationSection(method: string, path: string, op: Json): string {
  const parts = [
    `<section id="${anchor(method, path)}"><h2><code><span class="m">${method.toUpperCase()}</span>${esc(path)}</code></h2>`,
    op['summary'] ? `<p><strong>${esc(String(op['summary']))}</strong></p>` : '',
    op['description'] ? `<p>${esc(String(op['description']))}</p>` : '',
    op['security'] ? '<p class="key">Needs <code>Authorization: Bearer &lt;api key&gt;</code>.</p>' : '',
  ];
  const parameters = (op['parameters'] ?? []) as Json[];
  if (parameters.length > 0) {
    const rows = parameters.map(
      (p) =>
        `<tr><td><code>${esc(String(p['name']))}</code></td><td>${esc(String(p['in']))}${p['required'] ? ', required' : ''}</td><td>${esc(typeOf(p['schema'] as Json))}</td><td>${esc(String(p['description'] ?? ''))}</td></tr>`,
    );
    parts.push(`<h3>Parameters</h3><table>${rows.join('')}</table>`);
  }
  const body = (op['requestBody'] as Json | undefined)?.['content'] as Record<string, Json> | undefined;
  if (body)
    parts.push(
      '<h3>Request body</h3>',
      ...Object.entries(body).map(([type, c]) => schemaBlock(type, c['schema'])),
    );
  const responses = (op['responses'] ?? {}) as Record<string, Json>;
  parts.push('<h3>Responses</h3>');
  for (const [status, response] of Object.entries(responses)) {
    parts.push(`<p><code>${esc(status)}</code> ${esc(String(response['description'] ?? ''))}</p>`);
    const content = (response['content'] ?? {}) as Record<string, Json>;
    for (const [type, c] of Object.entries(content)) parts.push(schemaBlock(type, c['schema']));
  }
  parts.push('</section>');
  return parts.filter(Boolean).join('\n');
}

function schemaBlock(type: string, schema: unknown): string {
  return `<details><summary><code>${esc(type)}</code>: ${esc(typeOf(schema as Json))}</summary><pre>${esc(JSON.stringify(schema, null, 2))}</pre></details>`;
}

function typeOf(schema: Json | undefined): string {
  if (!schema) return '';
  if (typeof schema['title'] === 'string') return schema['title'];
  if (Array.isArray(schema['anyOf'])) return (schema['anyOf'] as Json[]).map(typeOf).join(' | ');
  if ('const' in schema) return JSON.stringify(schema['const']);
  if (schema['type'] === 'array') return `array of ${typeOf(schema['items'] as Json)}`;
  if (schema['type'] === 'object' && schema['properties']) {
    return `{ ${Object.keys(schema['properties'] as Json).join(', ')} }`;
  }
  return typeof schema['type'] === 'string' ? schema['type'] : 'any';
}

function anchor(method: string, path: string): string {
  return `${method}-${path.replace(/[^A-Za-z0-9]+/g, '-')}`;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
