// npm run loadtest -- --url wss://host/ws [flags]: the benchmark's client pointed at a running
// deployment (--help for the flags). Exit codes: 0 the run was clean, 1 it was not (the summary
// says why) or could not start (one line says why), 2 a bad command line (one line naming it).
import { parseArgs, usage, wantsHelp } from './args.ts';
import { Fatal, UsageError } from './fail.ts';
import { table } from './report.ts';
import { run } from './run.ts';

async function main(argv: readonly string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(usage());
    return 0;
  }
  try {
    const opts = parseArgs(argv);
    const summary = await run(opts);
    process.stdout.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : table(summary));
    return summary.ok ? 0 : 1;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`loadtest: ${err.message}\n`);
      return 2;
    }
    if (err instanceof Fatal) {
      process.stderr.write(`loadtest: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Everything is closed by now; should a socket linger anyway, it must not hold the exit.
    setTimeout(() => process.exit(code), 1000).unref();
  },
  (err: unknown) => {
    process.stderr.write(`loadtest: unexpected error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
