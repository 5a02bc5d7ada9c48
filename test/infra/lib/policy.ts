// Helpers for the policy tests over the parsed Terraform: pick resources and blocks, read
// variable defaults, and evaluate the small expressions the settings use (numbers, var./local.
// references, ceil/floor/min/max, comparisons) for chosen variable values, so a test can ask
// "for every allowed input, does the rule hold?" instead of checking one default.
import assert from 'node:assert/strict';
import { bodies } from './terraform.ts';
import type { Body, Json, TerraformModule } from './terraform.ts';

export function one(tf: TerraformModule, type: string, name?: string): Body {
  const byName = tf.resource[type];
  assert.ok(byName, `no ${type} in infra/azure/`);
  const names = Object.keys(byName);
  const key = name ?? names[0] ?? '';
  if (name === undefined) assert.equal(names.length, 1, `expected one ${type}, found ${names.join(', ')}`);
  const list = bodies(byName[key] as Json);
  assert.equal(list.length, 1, `${type}.${key}`);
  return list[0] as Body;
}

export function all(tf: TerraformModule, type: string): [string, Body][] {
  return Object.entries(tf.resource[type] ?? {}).map(([n, list]) => [n, bodies(list as Json)[0] as Body]);
}

export function block(body: Body, name: string): Body {
  const list = bodies(body[name]);
  assert.equal(list.length, 1, `block ${name}`);
  return list[0] as Body;
}

export function variable(tf: TerraformModule, name: string): Body {
  const v = bodies(tf.variable[name] as Json)[0];
  assert.ok(v, `variable ${name} is not declared`);
  return v;
}

export function variableDefault(tf: TerraformModule, name: string): Json | undefined {
  return variable(tf, name).default;
}

/** Every variable's default, overridden by `overrides`. */
export function inputs(tf: TerraformModule, overrides: Record<string, Json> = {}): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const name of Object.keys(tf.variable)) {
    const d = variable(tf, name).default;
    if (d !== undefined) out[name] = d;
  }
  return { ...out, ...overrides };
}

const FUNCTIONS: Record<string, string> = {
  ceil: 'Math.ceil',
  floor: 'Math.floor',
  max: 'Math.max',
  min: 'Math.min',
  tonumber: 'Number',
  tostring: 'String',
  upper: 'fn.upper',
  startswith: 'fn.startswith',
  length: 'fn.length',
  can: 'fn.can',
  regex: 'fn.regex',
  contains: 'fn.contains',
};
const HELPERS = {
  upper: (s: unknown): string => String(s).toUpperCase(),
  startswith: (s: unknown, prefix: unknown): boolean => String(s).startsWith(String(prefix)),
  length: (v: unknown): number => (Array.isArray(v) ? v.length : String(v).length),
  // regex() returns the match (Terraform: an error when none; here null, which can() turns into false).
  regex: (pattern: unknown, s: unknown): string | null => new RegExp(String(pattern)).exec(String(s))?.[0] ?? null,
  can: (v: unknown): boolean => v !== null && v !== undefined,
  contains: (list: unknown, v: unknown): boolean => Array.isArray(list) && list.includes(v),
};

/**
 * Evaluate a numeric/boolean Terraform expression ("${...}" or bare) with var. values from
 * `vars` and local. values from the module's locals (recursively). Anything beyond numbers,
 * arithmetic, comparisons, && || ! and the functions above is refused, never guessed.
 */
export function evaluate(tf: TerraformModule, expression: Json | undefined, vars: Record<string, Json>, depth = 0): number | boolean | string {
  assert.ok(depth < 10, 'locals nest too deep');
  if (typeof expression === 'number' || typeof expression === 'boolean') return expression;
  assert.equal(typeof expression, 'string', `cannot evaluate ${JSON.stringify(expression)}`);
  const text = expression as string;
  const inner = /^\$\{([\s\S]*)\}$/.exec(text)?.[1];
  if (inner === undefined) return text; // a literal string
  const js = inner.replace(/\b(var|local)\.(\w+)/g, (_, kind: string, name: string) => {
    if (kind === 'var') {
      assert.ok(name in vars, `no value for var.${name}`);
      return JSON.stringify(vars[name]);
    }
    return JSON.stringify(evaluate(tf, tf.locals[name], vars, depth + 1));
  });
  const code = js.replace(/\b(ceil|floor|max|min|tonumber|tostring|upper|startswith|length|can|regex|contains)\(/g, (_, f: string) => `${FUNCTIONS[f] ?? f}(`);
  const withoutStrings = code.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  assert.match(withoutStrings, /^(?:[\s\d.+\-*/%()<>=!&|,?:"[\]]|Math\.(?:ceil|floor|max|min)|fn\.(?:upper|startswith|length|can|regex|contains)|Number|String|true|false)*$/, `unsupported expression: ${inner}`);
  return (new Function('fn', `return (${code});`) as (fn: typeof HELPERS) => number | boolean | string)(HELPERS);
}

/** Does every `validation` block of the variable accept this value (with other inputs at their defaults)? */
export function accepts(tf: TerraformModule, name: string, value: Json, overrides: Record<string, Json> = {}): boolean {
  const vars = inputs(tf, { ...overrides, [name]: value });
  return bodies(variable(tf, name).validation).every((v) => evaluate(tf, v.condition, vars) === true);
}
