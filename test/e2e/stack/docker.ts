// Docker, Compose and the images the stack suites use.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { probe, requireExecutable, run, tail } from './proc.ts';
import type { RunOptions, RunResult } from './proc.ts';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export interface DockerTools {
  docker: string;
  /** The compose command: ['docker-compose'] (v1) or [docker, 'compose'] (v2). */
  compose: readonly string[];
  /** Environment for docker and compose: BuildKit on, nothing of the caller's project variables. */
  env: NodeJS.ProcessEnv;
}

/**
 * Find docker and compose and check that the daemon answers; throw (so the suite fails, not
 * skips) with what to install or start otherwise.
 */
export function dockerTools(): DockerTools {
  // Debian's client first: another docker client earlier on PATH may lack BuildKit support.
  const docker = requireExecutable('docker', 'apt-get install docker.io', process.env.DOCKER ?? '/usr/bin/docker');
  const env: NodeJS.ProcessEnv = {
    PATH: `${dirname(docker)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: process.env.HOME ?? tmpdir(),
    DOCKER_BUILDKIT: '1',
    // Compose v1 builds through the docker CLI (BuildKit: cache mounts) instead of docker-py.
    COMPOSE_DOCKER_CLI_BUILD: '1',
  };
  for (const name of ['DOCKER_HOST', 'DOCKER_CONFIG', 'DOCKER_CERT_PATH', 'DOCKER_TLS_VERIFY', 'TMPDIR', 'LANG']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  const info = probe(docker, ['version', '--format', '{{.Server.Version}}'], env);
  if (info.code !== 0) {
    throw new Error(`the Docker daemon does not answer (${tail(info.stderr, 3)}); start it (dockerd, or systemctl start docker)`);
  }
  let compose: readonly string[];
  if (process.env.DOCKER_COMPOSE) {
    compose = process.env.DOCKER_COMPOSE.split(' ').filter(Boolean);
  } else if (probe(docker, ['compose', 'version'], env).code === 0) {
    compose = [docker, 'compose'];
  } else {
    compose = [requireExecutable('docker-compose', 'apt-get install docker-compose (or the Compose v2 plugin)')];
  }
  return { docker, compose, env };
}

/** The default a compose file gives a variable (`${NAME:-default}`), so tests and users agree. */
export function composeDefault(name: string, file = 'docker-compose.yml'): string {
  const text = readFileSync(join(REPO, file), 'utf8');
  const match = new RegExp(`\\$\\{${name}:-([^}]+)\\}`).exec(text);
  if (!match?.[1]) throw new Error(`${file} gives no default for ${name}`);
  return match[1];
}

/** An image from the environment (CI points these at local stand-ins), else the compose default. */
export function imageFromEnv(name: string, file = 'docker-compose.yml'): string {
  const value = process.env[name];
  return value && value.trim() !== '' ? value.trim() : composeDefault(name, file);
}

export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(4).toString('hex')}`;
}

export function docker(tools: DockerTools, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(tools.docker, args, { env: tools.env, ...opts });
}

export interface ComposeProject {
  readonly name: string;
  readonly dir: string;
  run(args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Container id of a service's (first) container. */
  containerId(service: string): Promise<string>;
  logs(service: string): Promise<string>;
  /** Stop and remove everything of the project, volumes too. Never throws. */
  down(): Promise<void>;
}

/**
 * A compose project with its own name and an env file holding every variable, so neither a
 * developer's .env nor the caller's environment changes what the test runs.
 */
export function composeProject(tools: DockerTools, name: string, files: readonly string[], vars: Readonly<Record<string, string>>): ComposeProject {
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const envFile = join(dir, 'stack.env');
  writeFileSync(envFile, Object.entries(vars).map(([k, v]) => `${k}=${v}\n`).join(''));
  const base = [...tools.compose.slice(1), '--project-name', name, '--env-file', envFile, '--project-directory', REPO];
  for (const f of files) base.push('--file', resolve(REPO, f));
  const exe = tools.compose[0];
  if (!exe) throw new Error('no compose command');
  const project: ComposeProject = {
    name,
    dir,
    run: (args, opts = {}) => run(exe, [...base, ...args], { env: tools.env, cwd: REPO, ...opts }),
    async containerId(service) {
      const r = await project.run(['ps', '-q', service]);
      const id = r.stdout.trim().split('\n')[0];
      if (!id) throw new Error(`no container for service ${service}`);
      return id;
    },
    async logs(service) {
      const r = await project.run(['logs', '--no-color', service], { allowFailure: true, timeoutMs: 30_000 });
      return r.stdout + r.stderr;
    },
    async down() {
      await project.run(['down', '--volumes', '--remove-orphans', '--timeout', '5'], { allowFailure: true, timeoutMs: 120_000 }).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return project;
}

/** Lines of JSON (pino) from a log text, ignoring anything else compose adds to the lines. */
export function jsonLines(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    const start = line.indexOf('{');
    if (start < 0) continue;
    try {
      const value: unknown = JSON.parse(line.slice(start));
      if (value && typeof value === 'object' && !Array.isArray(value)) out.push(value as Record<string, unknown>);
    } catch {
      // not a JSON line
    }
  }
  return out;
}

/** Build the project's image from its Dockerfile, as a user would, with the given base image. */
export async function buildImage(tools: DockerTools, tag: string, nodeImage: string): Promise<void> {
  await docker(tools, ['build', '--build-arg', `NODE_IMAGE=${nodeImage}`, '--tag', tag, REPO], { timeoutMs: 300_000 });
}
