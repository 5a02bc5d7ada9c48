// Calls to the server API (docs/openapi.yaml) as a backend makes them; `checked` also validates
// the response against the document, so every test of the API checks the document too.
import { assertDocumented } from './openapi.ts';
import type { TestServer } from './server.ts';

export const API_KEY = 'k'.repeat(20) + '-api-key-for-tests-0123';

export interface Call {
  status: number;
  body: unknown;
  headers: Headers;
}

export async function call(s: TestServer, method: string, path: string, body?: unknown, key: string | null = API_KEY, raw?: string): Promise<Call> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const res = await fetch(`${s.url}${path}`, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)), signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

/** The documented path template of a concrete path. */
export function template(path: string): string {
  const p = path.split('?')[0] ?? path;
  return p
    .replace(/^\/api\/rooms\/[^/]+\//, '/api/rooms/{room}/')
    .replace(/^\/api\/users\/[^/]+\/rooms\/[^/]+$/, '/api/users/{sub}/rooms/{room}')
    .replace(/^\/api\/users\/[^/]+\//, '/api/users/{sub}/');
}

export async function checked(s: TestServer, method: string, path: string, body?: unknown, key: string | null = API_KEY, raw?: string): Promise<Call> {
  const r = await call(s, method, path, body, key, raw);
  assertDocumented(method, template(path), r.status, r.body);
  return r;
}
