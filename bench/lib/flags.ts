// The harness's flags: one table that both the parser and `--help` read, so the usage cannot
// drift from what is accepted. Parsing is strict: a typo such as `--instance 4` would otherwise
// start a 16-minute full run that measures something else, so every unknown flag, missing value
// or bad value is a UsageError (bench/lib/args.ts turns it into exit code 2 and one line).
import { FULL, QUICK, SMOKE } from './settings.ts';

export const SERVER_NAMES = ['service', 'ws', 'sio'] as const;
export type ServerName = (typeof SERVER_NAMES)[number];
export const GROUP_NAMES = ['c10k', 'b1k', 'echo', 'nginx', 'redis', 'storm', 'rooms', 'events'] as const;
export type GroupName = (typeof GROUP_NAMES)[number];
export const SMOKE_SERVERS: readonly ServerName[] = ['service', 'ws'];
export const SMOKE_GROUPS: readonly GroupName[] = ['c10k', 'echo', 'storm', 'rooms', 'events'];
/** More instances than this on one core measures the scheduler, not the servers. */
export const MAX_INSTANCES = 64;

export class UsageError extends Error {}

interface Flag {
  name: string;
  /** The value's placeholder; none for a switch. */
  value?: string;
  meaning: string;
  default: string;
}

const list = (xs: readonly (string | number)[]): string => xs.join(',');

export const FLAGS: readonly Flag[] = [
  { name: 'quick', meaning: 'one repetition at full size with short windows: a look, not a result to commit', default: 'off (a full run)' },
  { name: 'smoke', meaning: 'toy sizes, unpinned: what the test suite runs', default: 'off' },
  { name: 'reps', value: 'N', meaning: 'repetitions of every scenario group (whole number >= 1)', default: `${FULL.reps} (--quick: ${QUICK.reps}, --smoke: ${SMOKE.reps})` },
  { name: 'servers', value: 'LIST', meaning: `servers to compare, comma-separated, of ${list(SERVER_NAMES)}`, default: `${list(SERVER_NAMES)} (--smoke: ${list(SMOKE_SERVERS)})` },
  { name: 'scenarios', value: 'LIST', meaning: `scenario groups, comma-separated, of ${list(GROUP_NAMES)}`, default: `all (--smoke: ${list(SMOKE_GROUPS)})` },
  { name: 'instances', value: 'LIST', meaning: `instance counts of each server for the redis group, comma-separated, each 2-${MAX_INSTANCES}`, default: `${list(FULL.instances)} (--quick: ${list(QUICK.instances)}, --smoke: ${list(SMOKE.instances)})` },
  { name: 'out', value: 'DIR', meaning: 'directory for the results (.json, .svg)', default: 'bench/results' },
  { name: 'name', value: 'BASE', meaning: 'results file name without extension', default: '<date>-<sha>[-<mode>]' },
  { name: 'no-pin', meaning: 'do not pin servers and load generator to cores', default: 'pinned when taskset exists and there are 2+ cores (never with --smoke)' },
  { name: 'profile', value: 'DIR', meaning: 'run the servers with --cpu-prof, profiles written to DIR', default: 'off' },
  { name: 'service-entry', value: 'PATH', meaning: "the service's main.ts from another checkout (before/after comparisons)", default: 'src/main.ts' },
  { name: 'help', meaning: 'print this usage and exit without running anything (also -h)', default: 'off' },
];

export function usage(): string {
  const left = (f: Flag): string => `--${f.name}${f.value ? ` ${f.value}` : ''}`;
  const width = Math.max(...FLAGS.map((f) => left(f).length));
  return [
    'usage: npm run bench -- [flags]   (or: node bench/run.ts [flags])',
    '',
    'Runs the servers under test side by side and writes a markdown table (stdout), a JSON file and SVG charts.',
    '',
    ...FLAGS.map((f) => `  ${left(f).padEnd(width)}  ${f.meaning}; default: ${f.default}`),
    '',
  ].join('\n');
}

/** Help wins over everything, even a bad flag beside it: asked for anywhere, it is all that runs. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/** The flags given: switches as '', values as given. */
export function tokenize(argv: readonly string[]): Map<string, string> {
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--([a-z][a-z-]*)(?:=(.*))?$/s.exec(arg);
    if (!m) throw new UsageError(`unexpected argument ${JSON.stringify(arg)} (flags start with --)`);
    const [, name = '', inline] = m;
    const flag = FLAGS.find((f) => f.name === name);
    if (!flag) throw new UsageError(`unknown flag --${name}`);
    if (!flag.value) {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      given.set(name, '');
      continue;
    }
    const value = inline ?? argv[i + 1];
    if (value === undefined || value === '' || (inline === undefined && value.startsWith('--'))) throw new UsageError(`--${name} needs a value (${flag.value})`);
    if (inline === undefined) i++;
    given.set(name, value);
  }
  return given;
}

export function wholeNumber(flag: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`--${flag}: expected a whole number ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}, got ${JSON.stringify(text)}`);
  return n;
}

/** A comma-separated list of known names, each once, in the order given. */
export function names<T extends string>(flag: string, text: string, known: readonly T[]): T[] {
  const out: T[] = [];
  for (const item of text.split(',')) {
    if (!(known as readonly string[]).includes(item)) throw new UsageError(`--${flag}: unknown ${JSON.stringify(item)} (one of ${known.join(', ')})`);
    if (!out.includes(item as T)) out.push(item as T);
  }
  return out;
}
