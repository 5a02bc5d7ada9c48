// Validates real API responses against docs/openapi.yaml (OpenAPI 3.1: its schemas are JSON
// Schema 2020-12, which ajv checks as they are).
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';

const doc = parse(readFileSync(new URL('../../docs/openapi.yaml', import.meta.url), 'utf8')) as Record<string, unknown>;
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema({ ...doc, $id: 'openapi' });

const pointer = (s: string): string => s.replaceAll('~', '~0').replaceAll('/', '~1');

/** Throws unless `body` is what the document promises for `method path` answering `status`. */
export function assertDocumented(method: string, path: string, status: number, body: unknown): void {
  const paths = doc.paths as Record<string, Record<string, { responses?: Record<string, { $ref?: string }> }>>;
  // A 405 is documented on the method the path does take.
  const documented = status === 405 ? Object.keys(paths[path] ?? {}).find((m) => paths[path]?.[m]?.responses?.['405']) ?? '' : method.toLowerCase();
  method = documented.toUpperCase();
  const response = paths[path]?.[documented]?.responses?.[String(status)];
  if (response === undefined) throw new Error(`docs/openapi.yaml has no ${status} response for ${method} ${path}`);
  // Through a $ref to a shared response, point at the shared one: ajv resolves pointers only up to a $ref.
  const base = response.$ref ? `openapi${response.$ref}` : `openapi#/paths/${pointer(path)}/${method.toLowerCase()}/responses/${status}`;
  const validate = ajv.getSchema(`${base}/content/application~1json/schema`);
  if (!validate) throw new Error(`docs/openapi.yaml: no JSON schema for ${method} ${path} ${status}`);
  if (!validate(body)) throw new Error(`${method} ${path} ${status}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(body)}`);
}

export const OPENAPI = doc;
