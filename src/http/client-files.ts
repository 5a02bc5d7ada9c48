// The client library (client/*.js) served as /client/<file>.js: the page imports the same modules
// users import into their own frontends, with no build step. Read once at start, so only files
// that exist there can be served, each with an ETag.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const CLIENT_PREFIX = '/client/';

export interface StaticFile {
  body: string;
  etag: string;
}

export function loadClientFiles(dir: string): ReadonlyMap<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const name of readdirSync(dir)) {
    if (!/^[a-z-]+\.js$/.test(name)) continue;
    const body = readFileSync(join(dir, name), 'utf8');
    files.set(CLIENT_PREFIX + name, { body, etag: `"${createHash('sha1').update(body).digest('base64url')}"` });
  }
  return files;
}
