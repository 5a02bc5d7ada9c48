// The monitoring profile's Prometheus config and alerting rules, through the real promtool
// (Debian's `prometheus` package): the config and the rules are valid, the rules' unit tests
// (test/e2e/prometheus/*.test.yml) pass, and every alert is tested firing, labelled and
// annotated, and explained in the README. Fails, never skips, without promtool.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { REPO } from './stack/docker.ts';
import { requireExecutable, run } from './stack/proc.ts';

const CONFIG = 'infra/prometheus/prometheus.yml';
const RULES_DIR = 'infra/prometheus/rules';
const TESTS_DIR = 'test/e2e/prometheus';

interface Rule {
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface RuleTest {
  alert_rule_test?: { alertname: string; exp_alerts: { exp_labels?: Record<string, string> }[] }[];
}

const ruleFiles = readdirSync(join(REPO, RULES_DIR)).filter((f) => f.endsWith('.yml')).map((f) => join(RULES_DIR, f));
const testFiles = readdirSync(join(REPO, TESTS_DIR)).filter((f) => f.endsWith('.test.yml')).map((f) => join(TESTS_DIR, f));

function alerts(): Rule[] {
  return ruleFiles.flatMap((f) => (parse(readFileSync(join(REPO, f), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules)).filter((r) => r.alert);
}

describe('Prometheus config and alerting rules (promtool)', () => {
  const promtool = (): string => requireExecutable('promtool', 'apt-get install prometheus (Debian ships promtool in it)');

  it('promtool check config: valid, no warning', async () => {
    const r = await run(promtool(), ['check', 'config', CONFIG], { cwd: REPO, allowFailure: true });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /WARNING/);
    assert.match(r.stdout, new RegExp(`SUCCESS: ${ruleFiles.length} rule files? found`));
  });

  it('promtool check rules: every rule file is valid', async () => {
    const r = await run(promtool(), ['check', 'rules', ...ruleFiles], { cwd: REPO, allowFailure: true });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /WARNING/);
  });

  it('promtool test rules: the unit tests pass', async () => {
    assert.ok(testFiles.length > 0, `no *.test.yml in ${TESTS_DIR}`);
    const r = await run(promtool(), ['test', 'rules', ...testFiles], { cwd: REPO, allowFailure: true, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS/);
  });

  it('every alert has a severity, a summary and a description, and a unit test where it fires', () => {
    const fired = new Set<string>();
    for (const f of testFiles) {
      for (const t of (parse(readFileSync(join(REPO, f), 'utf8')) as { tests: RuleTest[] }).tests) {
        for (const a of t.alert_rule_test ?? []) if (a.exp_alerts.length > 0) fired.add(a.alertname);
      }
    }
    const names = alerts().map((r) => r.alert ?? '');
    assert.ok(names.length >= 10, `only ${names.length} alerts`);
    for (const rule of alerts()) {
      assert.match(rule.labels?.severity ?? '', /^(critical|warning)$/, `${rule.alert}: severity`);
      assert.ok(rule.annotations?.summary && rule.annotations.description, `${rule.alert}: summary and description`);
      assert.ok(fired.has(rule.alert ?? ''), `${rule.alert} is never shown firing in ${TESTS_DIR}`);
    }
  });

  it('covers the conditions the issue lists, and the README explains every alert', () => {
    const byName = new Map(alerts().map((r) => [r.alert ?? '', r.expr]));
    const expr = (name: string): string => byName.get(name) ?? assert.fail(`no alert ${name}`);
    assert.match(expr('SocketshipInstanceDown'), /up\{job="socketship"\} == 0/);
    assert.match(expr('SocketshipDown'), /absent\(up\{job="socketship"\} == 1\)/);
    assert.match(expr('SocketshipNotReady'), /ws_ready/);
    assert.match(expr('SocketshipProxyHealthCheckFailing'), /socketship_proxy_health_check/);
    for (const code of ['1011', '1013', '4000']) assert.match(expr('SocketshipCloseCodeSpike'), new RegExp(code));
    assert.match(expr('SocketshipSlowConsumers'), /code="1013"/);
    // Issue #22: a client chooses its own close code, and hangs up (1006) at will: alerts count the server's closes only.
    for (const rule of alerts()) {
      for (const selector of rule.expr.matchAll(/ws_closes_total(\{[^}]*\})?/g)) assert.match(selector[1] ?? '', /\bby="server"/, `${rule.alert}: ${selector[0]} counts closes the server did not choose`);
    }
    assert.match(expr('SocketshipReconnectStorm'), /ws_connections_opened_total/);
    assert.match(expr('SocketshipCertificateExpiringSoon'), /socketship_tls_certificate_expiry_timestamp_seconds/);
    assert.match(expr('SocketshipMemoryGrowth'), /process_resident_memory_bytes/);
    // Issue #22: the memory budget, exceeded again and again or nearly full.
    assert.match(expr('SocketshipMemoryBudgetPressure'), /ws_memory_budget_exceeded_total[\s\S]*ws_memory_held_bytes[\s\S]*ws_memory_budget_bytes/);
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    for (const name of byName.keys()) assert.match(readme, new RegExp(`\`${name}\``), `README does not explain ${name}`);
  });
});
