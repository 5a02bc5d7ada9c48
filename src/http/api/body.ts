import type { IncomingMessage } from 'node:http';
import { isRecord } from '../../protocol/guards.ts';

/** Largest request body the API reads. */
export const API_BODY_MAX_BYTES = 16 * 1024;

export type Body = { ok: true; value: Record<string, unknown> } | { ok: false; reason: string };

/** Reads a JSON object body of at most `max` bytes; anything else is a one-line reason for a 400. */
export function readJsonObject(req: IncomingMessage, max = API_BODY_MAX_BYTES): Promise<Body> {
  const type = req.headers['content-type'];
  if (type !== undefined && !/^application\/json\s*(;|$)/i.test(type)) return Promise.resolve({ ok: false, reason: 'Content-Type must be application/json' });
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) {
    req.resume();
    return Promise.resolve({ ok: false, reason: `body over ${max} bytes` });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (body: Body): void => {
      if (done) return;
      done = true;
      resolve(body);
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.resume();
        finish({ ok: false, reason: `body over ${max} bytes` });
      } else chunks.push(chunk);
    });
    req.on('error', () => finish({ ok: false, reason: 'body not received' }));
    // Closed before its end: the connection went, or the body deadline answered 408 and closed it
    // (then no 'error' comes, and without this the call would wait forever).
    req.on('close', () => finish({ ok: false, reason: 'body not received' }));
    req.on('end', () => {
      let value: unknown;
      try {
        value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return finish({ ok: false, reason: 'body is not JSON' });
      }
      finish(isRecord(value) ? { ok: true, value } : { ok: false, reason: 'body is not a JSON object' });
    });
  });
}
