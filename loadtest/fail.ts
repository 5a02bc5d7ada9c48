// The two ways the load test stops early, each as one line on stderr: a bad command line (exit
// code 2, before anything is contacted) and a run that cannot go on (exit code 1: the URL cannot
// be reached, the token command failed).

export class UsageError extends Error {}

export class Fatal extends Error {}

/** TLS verification failures (OpenSSL's codes as Node reports them): a private CA is the usual cause. */
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS|ERR_SSL/;

/** A network-level failure in a few words: its code when it has one (ECONNREFUSED, ENOTFOUND...). */
export function errorName(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && code !== '') return code;
  return err instanceof Error ? err.message : String(err);
}

/** What to do about a failure to reach the URL, when there is something to say. */
export function hint(err: unknown): string {
  const name = errorName(err);
  if (TLS_CODES.test(name)) return ' (a private CA? pass --ca FILE or set NODE_EXTRA_CA_CERTS)';
  if (name === 'ENOTFOUND' || name === 'EAI_AGAIN') return ' (DNS: check the host name, or --resolve ADDRESS)';
  return '';
}
