// The client library as users get it: its declarations are tsc's output of the current sources
// (npm run client:types), and its size minified and gzipped is what README says, within the 5 KB
// budget (npm run client:size).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clientSize } from '../../scripts/client-size.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

test('client/types is what tsc makes of client/*.js now (run npm run client:types after a change)', () => {
  const out = mkdtempSync(join(tmpdir(), 'client-types-'));
  try {
    execFileSync(process.execPath, [TSC, '-p', join(ROOT, 'client', 'tsconfig.json'), '--outDir', out], { stdio: 'pipe', timeout: 60_000 });
    const made = readdirSync(out).sort();
    assert.deepEqual(readdirSync(join(ROOT, 'client', 'types')).sort(), made);
    for (const file of made) assert.equal(readFileSync(join(ROOT, 'client', 'types', file), 'utf8'), readFileSync(join(out, file), 'utf8'), file);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('the library is at most 5 KB minified and gzipped, and README states its size', () => {
  const { gzipped } = clientSize();
  assert.ok(gzipped <= 5 * 1024, `${gzipped} bytes`);
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const stated = /client\/socketship\.js[^\n]*?: (\d+) bytes minified and gzipped/.exec(readme);
  assert.ok(stated, 'README says "client/socketship.js …: N bytes minified and gzipped"');
  assert.equal(Number(stated[1]), gzipped, 'README\'s figure is the current one: run npm run client:size');
});
