// Offline stand-in for `terraform validate`: parse .tf files with @cdktf/hcl2json and
// check every resource type, argument and block name (and every reference) against the
// azurerm 4.x schema in test/infra/fixtures. Only names are checked, not values.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Body = { [key: string]: Json };

export interface SchemaName {
  required?: boolean;
  read_only?: boolean;
  deprecated?: boolean;
  deprecation_message?: string;
  min_version?: string;
}

export interface SchemaBlock extends SchemaName {
  max_items?: number;
  arguments: Record<string, SchemaName>;
  blocks: Record<string, SchemaBlock>;
  attributes_exported?: string[];
}

export interface ProviderSchema {
  provider_version: string;
  terraform_meta_arguments: { resource: string[]; data: string[]; provider: string[] };
  provider: SchemaBlock;
  resources: Record<string, SchemaBlock>;
  data_sources: Record<string, SchemaBlock>;
}

/** The parsed files of one Terraform module, merged the way Terraform sees them. */
export interface TerraformModule {
  terraform: Body[];
  provider: Record<string, Body[]>;
  resource: Record<string, Record<string, Body[]>>;
  data: Record<string, Record<string, Body[]>>;
  variable: Record<string, Body[]>;
  output: Record<string, Body[]>;
  locals: Body;
  module: Record<string, Body[]>;
  files: string[];
}

export interface Finding {
  level: 'error' | 'warning';
  path: string;
  message: string;
}

const FIXTURES = new URL('../fixtures/', import.meta.url);

/**
 * The azurerm schema (a copy of shared/data, kept byte for byte) plus the one resource the
 * module takes from hashicorp/time (time_sleep, secrets.tf), from its own small fixture.
 */
export function loadAzurermSchema(): ProviderSchema {
  const azurerm = JSON.parse(readFileSync(new URL('azurerm-4-schema.json', FIXTURES), 'utf8')) as ProviderSchema;
  const time = JSON.parse(readFileSync(new URL('hashicorp-time-schema.json', FIXTURES), 'utf8')) as Pick<ProviderSchema, 'resources'>;
  return { ...azurerm, resources: { ...azurerm.resources, ...time.resources } };
}

export function isBody(value: Json | undefined): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** hcl2json renders each block as an array of bodies. */
export function bodies(value: Json | undefined): Body[] {
  if (Array.isArray(value)) return value.filter(isBody);
  return isBody(value) ? [value] : [];
}

function mergeInto<T>(target: Record<string, T>, source: Json | undefined, where: string): void {
  if (!isBody(source)) return;
  for (const [key, value] of Object.entries(source)) {
    if (key in target) throw new Error(`${where}: "${key}" is declared twice`);
    target[key] = value as T;
  }
}

/** Parse one HCL text (used by the negative tests on in-memory snippets). */
export async function parseModuleText(files: Record<string, string>): Promise<TerraformModule> {
  const module: TerraformModule = {
    terraform: [],
    provider: {},
    resource: {},
    data: {},
    variable: {},
    output: {},
    locals: {},
    module: {},
    files: Object.keys(files),
  };
  for (const [name, text] of Object.entries(files)) {
    const doc = (await parse(name, text)) as Body;
    for (const [kind, value] of Object.entries(doc)) {
      switch (kind) {
        case 'terraform':
          module.terraform.push(...bodies(value));
          break;
        case 'locals':
          for (const b of bodies(value)) mergeInto(module.locals, b, `${name} locals`);
          break;
        case 'provider':
          // Several provider blocks (aliases) are allowed: concatenate.
          if (isBody(value)) {
            for (const [p, list] of Object.entries(value)) {
              module.provider[p] = [...(module.provider[p] ?? []), ...bodies(list)];
            }
          }
          break;
        case 'resource':
        case 'data':
          if (isBody(value)) {
            for (const [type, byName] of Object.entries(value)) {
              const into = (module[kind][type] ??= {});
              mergeInto(into, byName, `${name} ${kind} ${type}`);
            }
          }
          break;
        case 'variable':
        case 'output':
        case 'module':
          mergeInto(module[kind], value, `${name} ${kind}`);
          break;
        default:
          throw new Error(`${name}: unexpected top-level "${kind}"`);
      }
    }
  }
  return module;
}

/** Every *.tf file directly in dir (Terraform does not recurse into sub-folders). */
export async function loadModule(dir: string): Promise<TerraformModule> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    if (name.endsWith('.tf')) files[name] = readFileSync(join(dir, name), 'utf8');
  }
  if (Object.keys(files).length === 0) throw new Error(`no .tf files in ${dir}`);
  return parseModuleText(files);
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] ?? 0;
      row[j] = Math.min((row[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length] ?? 0;
}

function suggestion(name: string, candidates: string[]): string {
  let best = '';
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(name, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== '' && bestDistance <= Math.max(2, Math.floor(name.length / 4)) ? ` (did you mean "${best}"?)` : '';
}

const DYNAMIC_KEYS = new Set(['for_each', 'iterator', 'labels', 'content']);

function checkBody(body: Body, node: SchemaBlock, path: string, meta: readonly string[], out: Finding[]): void {
  const present = new Set<string>();
  for (const [key, value] of Object.entries(body)) {
    if (meta.includes(key)) continue;
    if (key === 'dynamic') {
      for (const [blockName, entries] of Object.entries(isBody(value) ? value : {})) {
        const block = node.blocks[blockName];
        if (!block) {
          out.push({ level: 'error', path: `${path}.dynamic.${blockName}`, message: `unknown block "${blockName}"${suggestion(blockName, Object.keys(node.blocks))}` });
          continue;
        }
        present.add(blockName);
        for (const entry of bodies(entries)) {
          for (const k of Object.keys(entry)) {
            if (!DYNAMIC_KEYS.has(k)) out.push({ level: 'error', path: `${path}.dynamic.${blockName}`, message: `unknown key "${k}" in a dynamic block` });
          }
          for (const content of bodies(entry.content)) checkBody(content, block, `${path}.${blockName}`, [], out);
        }
      }
      continue;
    }
    const argument = node.arguments[key];
    const block = node.blocks[key];
    const found = argument ?? block;
    if (!found) {
      const candidates = [...Object.keys(node.arguments), ...Object.keys(node.blocks)];
      out.push({ level: 'error', path: `${path}.${key}`, message: `unknown argument or block "${key}"${suggestion(key, candidates)}` });
      continue;
    }
    present.add(key);
    if (found.read_only) out.push({ level: 'error', path: `${path}.${key}`, message: `"${key}" is read-only (computed) and cannot be set` });
    if (found.deprecated) out.push({ level: 'warning', path: `${path}.${key}`, message: `"${key}" is deprecated: ${found.deprecation_message ?? 'removed in azurerm 5.0'}` });
    if (found.min_version) out.push({ level: 'warning', path: `${path}.${key}`, message: `"${key}" needs azurerm ${found.min_version} or newer` });
    if (block && typeof value !== 'string') {
      const list = bodies(value);
      if (block.max_items === 1 && list.length > 1) {
        out.push({ level: 'error', path: `${path}.${key}`, message: `"${key}" may appear at most once, found ${list.length}` });
      }
      for (const inner of list) checkBody(inner, block, `${path}.${key}`, [], out);
    }
  }
  for (const [name, spec] of [...Object.entries(node.arguments), ...Object.entries(node.blocks)]) {
    if (spec.required && !present.has(name)) {
      out.push({ level: 'error', path, message: `required "${name}" is missing` });
    }
  }
}

/** Name check of every provider, resource and data block against the offline schema. */
export function checkNames(module: TerraformModule, schema: ProviderSchema): Finding[] {
  const out: Finding[] = [];
  const meta = schema.terraform_meta_arguments;
  for (const [name, list] of Object.entries(module.provider)) {
    if (name !== 'azurerm') {
      out.push({ level: 'error', path: `provider.${name}`, message: `provider "${name}" has no offline schema (only azurerm is checked)` });
      continue;
    }
    for (const [i, b] of list.entries()) checkBody(b, schema.provider, `provider.azurerm[${i}]`, meta.provider, out);
  }
  const kinds = [
    ['resource', module.resource, schema.resources, meta.resource],
    ['data', module.data, schema.data_sources, meta.data],
  ] as const;
  for (const [kind, blocks, known, metaArgs] of kinds) {
    for (const [type, byName] of Object.entries(blocks)) {
      const node = known[type];
      if (!node) {
        out.push({
          level: 'error',
          path: `${kind}.${type}`,
          message: type.startsWith('azurerm_')
            ? `${kind} type "${type}" is not in the offline azurerm schema${suggestion(type, Object.keys(known))}: misspelt, removed, or add it to test/infra/fixtures/azurerm-4-schema.json`
            : `${kind} type "${type}" has no offline schema (only azurerm is checked)`,
        });
        continue;
      }
      for (const [name, list] of Object.entries(byName)) {
        for (const b of bodies(list)) checkBody(b, node, `${kind}.${type}.${name}`, metaArgs, out);
      }
    }
  }
  for (const name of Object.keys(module.module)) {
    out.push({ level: 'error', path: `module.${name}`, message: 'modules are not covered by the offline check; keep resources in the root module' });
  }
  return out;
}

function strings(value: Json | undefined, into: string[]): string[] {
  if (typeof value === 'string') into.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, into);
  else if (isBody(value)) for (const v of Object.values(value)) strings(v, into);
  return into;
}

/** Every reference (var.x, local.x, azurerm_t.n.attr, data.t.n.attr) must resolve. */
export function checkReferences(module: TerraformModule, schema: ProviderSchema): Finding[] {
  const out: Finding[] = [];
  const texts: { path: string; text: string }[] = [];
  const collect = (path: string, value: Json | undefined): void => {
    for (const text of strings(value, [])) if (text.includes('${')) texts.push({ path, text });
  };
  for (const [type, byName] of Object.entries(module.resource)) {
    for (const [name, list] of Object.entries(byName)) collect(`resource.${type}.${name}`, list as Json);
  }
  for (const [type, byName] of Object.entries(module.data)) {
    for (const [name, list] of Object.entries(byName)) collect(`data.${type}.${name}`, list as Json);
  }
  for (const [name, list] of Object.entries(module.output)) collect(`output.${name}`, list as Json);
  for (const [name, value] of Object.entries(module.locals)) collect(`local.${name}`, value);
  for (const [name, list] of Object.entries(module.provider)) collect(`provider.${name}`, list as Json);

  const attrsOf = (node: SchemaBlock): Set<string> =>
    new Set([...Object.keys(node.arguments), ...Object.keys(node.blocks), ...(node.attributes_exported ?? []), 'id']);

  for (const { path, text } of texts) {
    for (const m of text.matchAll(/(?<![\w.])var\.([A-Za-z_][\w-]*)/g)) {
      const name = m[1] ?? '';
      if (!(name in module.variable)) out.push({ level: 'error', path, message: `reference to undeclared variable "var.${name}"` });
    }
    for (const m of text.matchAll(/(?<![\w.])local\.([A-Za-z_][\w-]*)/g)) {
      const name = m[1] ?? '';
      if (!(name in module.locals)) out.push({ level: 'error', path, message: `reference to undeclared local "local.${name}"` });
    }
    for (const m of text.matchAll(/(?<![\w.])(data\.)?(azurerm_[a-z0-9_]+)\.([A-Za-z_][\w-]*)(?:\.([A-Za-z_][\w]*))?/g)) {
      const isData = m[1] !== undefined;
      const type = m[2] ?? '';
      const name = m[3] ?? '';
      const attr = m[4];
      const declared = isData ? module.data[type] : module.resource[type];
      const label = `${isData ? 'data.' : ''}${type}.${name}`;
      if (!declared || !(name in declared)) {
        out.push({ level: 'error', path, message: `reference to undeclared ${label}` });
        continue;
      }
      const node = isData ? schema.data_sources[type] : schema.resources[type];
      if (node && attr !== undefined && !attrsOf(node).has(attr)) {
        out.push({ level: 'error', path, message: `${label} has no attribute "${attr}"${suggestion(attr, [...attrsOf(node)])}` });
      }
    }
  }
  return out;
}

export function errors(findings: Finding[]): string[] {
  return findings.filter((f) => f.level === 'error').map((f) => `${f.path}: ${f.message}`);
}
