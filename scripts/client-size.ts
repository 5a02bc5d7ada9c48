// The client library's size as a browser downloads it: client/socketship.js and what it imports,
// bundled and minified with esbuild, then gzipped (level 9). Printed by `npm run client:size`;
// README's figure is checked against it by test/unit/client-size.test.ts.
import { buildSync } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const CLIENT_ENTRY = fileURLToPath(new URL('../client/socketship.js', import.meta.url));

export function clientSize(): { minified: number; gzipped: number } {
  const [out] = buildSync({ entryPoints: [CLIENT_ENTRY], bundle: true, minify: true, format: 'esm', write: false, logLevel: 'silent' }).outputFiles;
  if (!out) throw new Error('esbuild produced no output');
  return { minified: out.contents.length, gzipped: gzipSync(out.contents, { level: 9 }).length };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { minified, gzipped } = clientSize();
  console.log(`client/socketship.js: ${minified} bytes minified, ${gzipped} bytes minified and gzipped`);
}
