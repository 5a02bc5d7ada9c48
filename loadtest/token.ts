// The token of the run: --token as given, or --token-command's trimmed stdout. The command runs
// through /bin/sh (so `az account get-access-token ... -o tsv --query accessToken` or a pipe work
// as typed), bounded in time and output; it runs once: every connection carries the same token.
import { execFile } from 'node:child_process';
import { Fatal } from './fail.ts';

const COMMAND_TIMEOUT_MS = 30_000;
/** Far above any real token (the service refuses over 8 KiB): a command printing a file stops here. */
const MAX_OUTPUT_BYTES = 64 * 1024;

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.trim() ?? '';
}

export function runTokenCommand(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', command], { timeout: COMMAND_TIMEOUT_MS, maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8' }, (err, stdout, stderr) => {
      const said = firstLine(stderr);
      if (err) {
        const code = (err as { code?: unknown }).code;
        // 127: the shell's answer for a command it cannot find (126: found but not executable).
        if (code === 127) return reject(new Fatal(`--token-command: command not found${said ? ` (${said})` : ''}`));
        if (code === 126) return reject(new Fatal(`--token-command: not executable${said ? ` (${said})` : ''}`));
        if (err.killed) return reject(new Fatal(`--token-command: no token within ${COMMAND_TIMEOUT_MS / 1000} s`));
        if (code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return reject(new Fatal(`--token-command: printed more than ${MAX_OUTPUT_BYTES} bytes, not a token`));
        return reject(new Fatal(`--token-command exited with ${String(code ?? err.signal ?? '?')}${said ? `: ${said}` : ''}`));
      }
      const token = stdout.trim();
      if (token === '') return reject(new Fatal('--token-command printed nothing: expected the token on stdout'));
      if (!/^[\x21-\x7e]+$/.test(token)) return reject(new Fatal('--token-command printed more than one token (spaces or line breaks in its output)'));
      resolve(token);
    });
  });
}

export async function tokenOf(opts: { token: string | undefined; tokenCommand: string | undefined }): Promise<string | undefined> {
  if (opts.token !== undefined) return opts.token;
  if (opts.tokenCommand !== undefined) return runTokenCommand(opts.tokenCommand);
  return undefined;
}
