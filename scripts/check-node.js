// @ts-check
// Runs before `npm start` and `npm run dev` (prestart, predev), in plain JavaScript so that an
// old Node can run it: the service itself is TypeScript run by Node's type stripping, which an
// old Node cannot load, and would fail with a stack trace instead of this one line.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The lowest major version `engines.node` allows (">=24"), and what is wrong with `version`, if anything.
 * @param {string} version like "v20.20.2" @param {string} range like ">=24"
 * @returns {string | undefined}
 */
export function nodeVersionProblem(version, range) {
  const need = Number(/^>=\s*(\d+)/.exec(range)?.[1]);
  const have = Number(/^v?(\d+)\./.exec(version)?.[1]);
  if (!Number.isInteger(need) || !Number.isInteger(have)) return undefined;
  if (have >= need) return undefined;
  return `Socketship needs Node.js ${need} or newer (26 LTS recommended, see .node-version); this is Node.js ${version}.`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const problem = nodeVersionProblem(process.version, String(pkg.engines?.node ?? ''));
  if (problem) {
    console.error(problem);
    process.exit(1);
  }
}
