// The page in a real Chromium: load it, press Start, watch the ping/pong rounds.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { requireExecutable, run } from './proc.ts';

export interface BrowserOptions {
  /** Map this host name to 127.0.0.1 inside the browser (DNS stays untouched). */
  mapHost?: string;
  /** A root CA (PEM) the browser trusts through its NSS database, as a user would import it. */
  trustRootPem?: string;
  /** Answered pings to wait for. */
  rounds?: number;
  timeoutMs?: number;
}

export interface BrowserResult {
  endpoint: string;
  pings: number;
  state: string;
  /** From the page's own TLS connection, when https. */
  tlsProtocol?: string;
  tlsIssuer?: string;
  consoleErrors: string[];
}

export function chromiumPath(): string {
  return requireExecutable('chromium', 'apt-get install chromium', process.env.CHROMIUM_PATH ?? '/usr/bin/chromium');
}

/** An NSS database under `home` (where Chromium on Linux looks) that trusts `pem` for TLS servers. */
async function trustInNss(home: string, pem: string): Promise<void> {
  const certutil = requireExecutable('certutil', 'apt-get install libnss3-tools');
  const db = join(home, '.pki', 'nssdb');
  mkdirSync(db, { recursive: true });
  const pemFile = join(home, 'root.pem');
  writeFileSync(pemFile, pem);
  await run(certutil, ['-d', `sql:${db}`, '-N', '--empty-password']);
  await run(certutil, ['-d', `sql:${db}`, '-A', '-t', 'C,,', '-n', 'socketship-test-root', '-i', pemFile]);
}

export async function browserPingPong(url: string, opts: BrowserOptions = {}): Promise<BrowserResult> {
  const executablePath = chromiumPath();
  const home = mkdtempSync(join(tmpdir(), 'socketship-chromium-'));
  const profile = join(home, 'profile');
  mkdirSync(profile);
  const rounds = opts.rounds ?? 3;
  const timeoutMs = opts.timeoutMs ?? 20_000;
  try {
    if (opts.trustRootPem) await trustInNss(home, opts.trustRootPem);
    const args = [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ];
    // The test domain goes to loopback and no other name resolves: nothing leaves the machine.
    if (opts.mapHost) args.push(`--host-resolver-rules=MAP ${opts.mapHost} 127.0.0.1, MAP * ~NOTFOUND`);
    const context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args,
      env: { ...process.env, HOME: home },
      timeout: timeoutMs,
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const consoleErrors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') consoleErrors.push(m.text());
      });
      page.on('pageerror', (e) => consoleErrors.push(e.message));
      const response = await page.goto(url, { timeout: timeoutMs, waitUntil: 'load' });
      if (!response || !response.ok()) throw new Error(`${url} answered ${response?.status() ?? 'nothing'} in Chromium`);
      const security = await response.securityDetails();
      await page.click('#toggle', { timeout: timeoutMs });
      await page.waitForFunction(
        (n) => Number(document.getElementById('pings')?.textContent ?? '0') >= n,
        rounds,
        { timeout: timeoutMs, polling: 200 },
      );
      const result: BrowserResult = {
        endpoint: (await page.textContent('#endpoint')) ?? '',
        pings: Number((await page.textContent('#pings')) ?? '0'),
        state: (await page.textContent('#state')) ?? '',
        consoleErrors,
      };
      if (security?.protocol) result.tlsProtocol = security.protocol;
      if (security?.issuer) result.tlsIssuer = security.issuer;
      return result;
    } finally {
      await context.close();
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
