// The harness's command line: which run (full, quick, smoke), which servers and scenario groups,
// and every size and window the scenarios use, read once from process.argv. The flags and their
// defaults are in bench/lib/flags.ts (`npm run bench -- --help` prints them); the sizes in
// bench/lib/settings.ts.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GROUP_NAMES, MAX_INSTANCES, SERVER_NAMES, SMOKE_GROUPS, SMOKE_SERVERS, UsageError, names, tokenize, usage, wantsHelp, wholeNumber, type GroupName, type ServerName } from './flags.ts';
import { FULL, QUICK, SMOKE, type Settings } from './settings.ts';
import type { Kind } from './types.ts';

export { FULL, GROUP_NAMES, type GroupName, type ServerName, type Settings };

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const SERVERS: Record<ServerName, { entry: string; kind: Kind; label: string }> = {
  service: { entry: join(ROOT, 'src/main.ts'), kind: 'ws', label: 'Socketship' },
  ws: { entry: join(ROOT, 'bench/peers/ws-server.ts'), kind: 'ws', label: 'bare ws' },
  sio: { entry: join(ROOT, 'bench/peers/socketio-server.ts'), kind: 'sio', label: 'Socket.IO' },
};

export interface Options {
  settings: Settings;
  servers: ServerName[];
  groups: GroupName[];
  outDir: string;
  profileDir: string | undefined;
  noPin: boolean;
  /** The results' file name without extension, instead of <date>-<sha>[-<mode>]. */
  name: string | undefined;
  /** Another checkout's main.ts for the service, when given. */
  serviceEntry: string | undefined;
}

/** The options of a command line; a UsageError for anything it does not accept. */
export function parseArgs(argv: readonly string[]): Options {
  const given = tokenize(argv);
  if (given.has('quick') && given.has('smoke')) throw new UsageError('--quick and --smoke: choose one');
  const settings: Settings = { ...(given.has('smoke') ? SMOKE : given.has('quick') ? QUICK : FULL) };
  const value = (flag: string): string | undefined => given.get(flag);
  const reps = value('reps');
  if (reps !== undefined) settings.reps = wholeNumber('reps', reps, 1);
  const instances = value('instances');
  if (instances !== undefined) {
    const counts = [...new Set(instances.split(',').map((n) => wholeNumber('instances', n, 2, MAX_INSTANCES)))].sort((a, b) => a - b);
    // Every instance needs a member for its deliveries to be measured.
    const most = counts.at(-1)!;
    if (most > settings.redisMembers) throw new UsageError(`--instances: ${most} instances for ${settings.redisMembers} members in a ${settings.mode} run (at most ${settings.redisMembers})`);
    settings.instances = counts;
  }
  const serverList = value('servers');
  const groupList = value('scenarios');
  const servers = serverList !== undefined ? names('servers', serverList, SERVER_NAMES) : [...(settings.mode === 'smoke' ? SMOKE_SERVERS : SERVER_NAMES)];
  const groups = groupList !== undefined ? names('scenarios', groupList, GROUP_NAMES) : [...(settings.mode === 'smoke' ? SMOKE_GROUPS : GROUP_NAMES)];
  const serviceEntry = value('service-entry');
  if (serviceEntry !== undefined && !existsSync(resolve(serviceEntry))) throw new UsageError(`--service-entry: no such file ${JSON.stringify(serviceEntry)}`);
  const name = value('name');
  if (name !== undefined && /[/\\]/.test(name)) throw new UsageError(`--name: a file name without a directory, got ${JSON.stringify(name)} (use --out for the directory)`);
  return {
    settings,
    servers,
    groups,
    outDir: resolve(value('out') ?? join(ROOT, 'bench/results')),
    profileDir: value('profile'),
    noPin: given.has('no-pin'),
    name,
    serviceEntry: serviceEntry === undefined ? undefined : resolve(serviceEntry),
  };
}

/**
 * The harness's own command line: `--help` prints the usage and exits 0, a usage error exits 2
 * with one line naming the flag. Both before any other module of the harness does anything.
 */
function fromCommandLine(argv: readonly string[]): Options {
  if (wantsHelp(argv)) {
    process.stdout.write(usage());
    process.exit(0);
  }
  try {
    return parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`bench: ${err.message} (npm run bench -- --help lists the flags)`);
    process.exit(2);
  }
}

export const options = fromCommandLine(process.argv.slice(2));
export const settings = options.settings;
if (options.serviceEntry) SERVERS.service.entry = options.serviceEntry;
