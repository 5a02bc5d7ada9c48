// README's configuration table and .env.example document every variable with its real default,
// and README's close-code table lists every code the server closes with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEFAULTS } from '../../src/config/config.ts';
import { CloseCode } from '../../src/protocol/close.ts';

const ROOT = new URL('../../', import.meta.url);
const readme = readFileSync(new URL('README.md', ROOT), 'utf8');
const envExample = readFileSync(new URL('.env.example', ROOT), 'utf8');

test('every variable is in README (with its default) and in .env.example (with the same value)', () => {
  for (const [name, value] of Object.entries(DEFAULTS)) {
    const row = readme.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
    assert.ok(row, `README has no row for ${name}`);
    assert.ok(value === '' ? row.includes('| empty |') : row.includes(`\`${value}\``), `README's default for ${name} is not ${value || 'empty'}: ${row}`);
    assert.match(envExample, new RegExp(`^${name}=${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), `.env.example lacks ${name}=${value}`);
  }
});

test("README's close-code table lists every close code the server sends", () => {
  const listed = new Set([...readme.matchAll(/^\| (\d{4}) \|/gm)].map((m) => Number(m[1])));
  for (const [name, code] of Object.entries(CloseCode)) {
    if (name === 'internalError') continue; // reserved for the unexpected: nothing sends it today
    assert.ok(listed.has(code), `close code ${code} (${name}) is not in README's table`);
  }
});
