// The shape of src/ as README's "Layout" describes it, checked: imports only point down a floor
// (or within one), no import cycles, no file over 300 lines, `ws` private fields read in one file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Floor of each top-level part of src/: a module may import from its own floor or below. */
const FLOORS: Record<string, number> = {
  'protocol': 0,
  'clock.ts': 0,
  'config': 0,
  'log': 0,
  'metrics': 0,
  'broker': 1,
  'events': 1,
  'auth': 1,
  'request': 1,
  'realtime': 2,
  'http': 3,
  'app.ts': 4,
  'telemetry': 5,
  'main.ts': 5,
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

function floorOf(file: string): number {
  const top = relative(SRC, file).split('/')[0] ?? '';
  const floor = FLOORS[top];
  assert.ok(floor !== undefined, `${relative(SRC, file)}: a new part of src/ needs a floor in this test and in README's Layout`);
  return floor;
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/(?:^|[\n;])\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/g)) found.push(resolve(dirname(file), m[1] ?? ''));
  for (const m of text.matchAll(/import\(\s*'(\.[^']+)'\s*\)/g)) found.push(resolve(dirname(file), m[1] ?? ''));
  return found;
}

const all = files(SRC);

test('imports point down: no module imports from a floor above its own', () => {
  const upward: string[] = [];
  for (const file of all) {
    for (const target of importsOf(file)) {
      if (floorOf(target) > floorOf(file)) upward.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
    }
  }
  assert.deepEqual(upward, []);
});

test('no import cycles', () => {
  const graph = new Map(all.map((f) => [f, importsOf(f).filter((t) => !t.endsWith('.d.ts'))]));
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[] = [];
  function visit(file: string, path: string[]): void {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(SRC, f)).join(' -> '));
      return;
    }
    state.set(file, 'visiting');
    for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
    state.set(file, 'done');
  }
  for (const file of all) visit(file, []);
  assert.deepEqual(cycles, []);
});

test('no file in src/ over 300 lines', () => {
  const long = all.map((f) => [relative(SRC, f), readFileSync(f, 'utf8').split('\n').length] as const).filter(([, n]) => n > 300);
  assert.deepEqual(long, []);
});

test('ws private fields are read in src/realtime/ws-internals.ts only', () => {
  const readers = all.filter((f) => /\._(socket|sender|receiver|bufferedBytes)\b|_bufferedBytes|'status-code'/.test(readFileSync(f, 'utf8')));
  assert.deepEqual(readers.map((f) => relative(SRC, f)), ['realtime/ws-internals.ts']);
});
