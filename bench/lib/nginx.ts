// nginx with the project's proxy config (infra/nginx/templates), rendered into a temporary
// prefix with one plain server block, in front of one server under test.
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './args.ts';
import { cleanEnv, freePort, hasCommand, launch, sleep, stopChild } from './processes.ts';

const NGINX_TEMPLATES = join(ROOT, 'infra/nginx/templates');

export interface RunningNginx {
  child: ChildProcess;
  port: number;
  dir: string;
}

export function nginxSkipReason(): string | undefined {
  if (!hasCommand('nginx')) return 'nginx is not installed';
  if (!existsSync(join(NGINX_TEMPLATES, 'socketship/app.conf.template')) || !existsSync(join(NGINX_TEMPLATES, 'default.conf.template'))) return 'infra/nginx templates not found';
  return undefined;
}

function render(template: string, vars: Record<string, string>): string {
  return template.replace(/\$\{([A-Z_]+)\}/g, (m, k: string) => vars[k] ?? m);
}

export async function startNginx(appPort: number): Promise<RunningNginx> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'socketship-bench-nginx-'));
  const vars = { APP_UPSTREAM: `127.0.0.1:${appPort}`, PROXY_TIMEOUT: '3600s', SOCKETSHIP_RESOLVERS: '127.0.0.1' };
  writeFileSync(join(dir, 'app.conf'), render(readFileSync(join(NGINX_TEMPLATES, 'socketship/app.conf.template'), 'utf8'), vars));
  // The project's default.conf (map, resolver, gzip), with its site include replaced by one plain server.
  const site = render(readFileSync(join(NGINX_TEMPLATES, 'default.conf.template'), 'utf8'), vars).replace(
    /^\s*include\s+\S*active\.conf;\s*$/m,
    `server {\n    listen 127.0.0.1:${port};\n    server_name _;\n    include ${dir}/app.conf;\n}`,
  );
  // The template's temporary paths (the image's /var/cache/nginx) move into the prefix; the ones it does not set are added below.
  const siteHere = site.replaceAll('/var/cache/nginx/', `${dir}/`);
  writeFileSync(join(dir, 'site.conf'), siteHere);
  const tempPaths = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].filter((t) => !new RegExp(`^\\s*${t}_temp_path\\s`, 'm').test(siteHere));
  writeFileSync(
    join(dir, 'nginx.conf'),
    [
      'worker_processes 1;',
      'worker_rlimit_nofile 20000;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      'events { worker_connections 4096; }',
      'http {',
      `  access_log ${dir}/access.log;`,
      ...tempPaths.map((t) => `  ${t}_temp_path ${dir}/${t};`),
      `  include ${dir}/site.conf;`,
      '}',
      '',
    ].join('\n'),
  );
  const child = launch(['nginx', '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off;'], 0, cleanEnv({}), 'ignore');
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.ok) break;
    } catch {
      // starting
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`nginx did not start: ${readFileSync(join(dir, 'error.log'), 'utf8').slice(-500)}`);
    await sleep(50);
  }
  return { child, port, dir };
}

export async function stopNginx(nginx: RunningNginx): Promise<void> {
  await stopChild(nginx.child, 3000);
  rmSync(nginx.dir, { recursive: true, force: true });
}
