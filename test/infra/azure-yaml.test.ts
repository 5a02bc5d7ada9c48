// azure.yaml against azd's own JSON schema (draft 2019-09, offline copy in fixtures),
// plus the links between azure.yaml and the Terraform it points at.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2019 } from 'ajv/dist/2019.js';
import type { ValidateFunction } from 'ajv/dist/2019.js';
import { parse as parseYaml } from 'yaml';
import { bodies, loadModule } from './lib/terraform.ts';
import type { Json } from './lib/terraform.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCHEMA_URL = new URL('fixtures/azd-azure-yaml.schema.json', import.meta.url);

type Doc = Record<string, unknown>;

function externalRefs(node: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const v of node) externalRefs(v, into);
  else if (typeof node === 'object' && node !== null) {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string' && /^https?:\/\//.test(v)) into.add(v.split('#')[0] ?? v);
      else externalRefs(v, into);
    }
  }
  return into;
}

function compile(): ValidateFunction {
  const schema = JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as Doc;
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  // The schema refers to 7 extension schemas on GitHub, used only by AI hosts. Permissive
  // local stubs keep the compile offline; appservice services never reach them.
  const refs = externalRefs(schema);
  assert.equal(refs.size, 7, 'the fixture schema is expected to have 7 external $refs (see its SOURCE file)');
  for (const url of refs) ajv.addSchema({ $id: url }, url);
  return ajv.compile(schema);
}

function messages(validate: ValidateFunction): string {
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('\n');
}

describe('azure.yaml', () => {
  let validate: ValidateFunction;
  let doc: Doc;

  before(() => {
    validate = compile();
    doc = parseYaml(readFileSync(new URL('azure.yaml', `file://${ROOT}`), 'utf8')) as Doc;
  });

  it('is valid against the azd schema', () => {
    assert.equal(validate(doc), true, messages(validate));
  });

  it('the validator rejects what azd rejects (so the check above means something)', () => {
    const bad = (mutate: (d: Doc) => void): boolean => {
      const copy = structuredClone(doc);
      mutate(copy);
      return validate(copy);
    };
    const service = (d: Doc): Doc => (d.services as Record<string, Doc>).app as Doc;
    assert.equal(bad((d) => (d.name = 'Not A Valid Name!')), false, 'bad project name accepted');
    assert.equal(bad((d) => ((service(d).docker as Doc).dockerfile = './Dockerfile')), false, 'unknown docker key accepted');
    assert.equal(bad((d) => (service(d).k8s = { namespace: 'x' })), false, 'k8s under appservice accepted');
    assert.equal(bad((d) => delete service(d).host), false, 'service without host accepted');
  });

  it('uses Terraform from infra/azure/ with module main, whose tfvars file exists', () => {
    const infra = doc.infra as Doc;
    assert.equal(infra.provider, 'terraform');
    const path = typeof infra.path === 'string' ? infra.path : 'infra/azure';
    const module = typeof infra.module === 'string' ? infra.module : 'main';
    assert.ok(existsSync(`${ROOT}${path}/${module}.tf`), `${path}/${module}.tf missing`);
    assert.ok(existsSync(`${ROOT}${path}/${module}.tfvars.json`), `${path}/${module}.tfvars.json missing`);
  });

  it('deploys service "app" as a container to App Service, matching the web app tag and the registry output', async () => {
    const services = doc.services as Record<string, Doc>;
    assert.deepEqual(Object.keys(services), ['app']);
    const app = services.app as Doc;
    assert.equal(app.host, 'appservice');
    assert.equal(app.language, 'docker', 'azd deploys App Service containers only for language: docker');
    const docker = app.docker as Doc;
    assert.ok(typeof docker.path === 'string');
    const dockerfile = fileURLToPath(new URL(docker.path, new URL(`${String(app.project ?? '.')}/`, `file://${ROOT}`)));
    assert.ok(existsSync(dockerfile), `${dockerfile} (docker.path) does not exist`);

    const tf = await loadModule(`${ROOT}infra/azure`);
    const web = bodies(tf.resource.azurerm_linux_web_app?.app as Json)[0];
    assert.ok(web, 'no azurerm_linux_web_app.app');
    assert.match(String(web.tags), /"?azd-service-name"? = "app"/);
    assert.ok(tf.output.AZURE_CONTAINER_REGISTRY_ENDPOINT, 'azd needs AZURE_CONTAINER_REGISTRY_ENDPOINT to push the image');
  });

  it('passes the pipeline variables the workflow reads', () => {
    const variables = (doc.pipeline as Doc).variables as string[];
    const workflow = readFileSync(new URL('.github/workflows/azure-dev.yml', `file://${ROOT}`), 'utf8');
    for (const v of variables) assert.ok(workflow.includes(`vars.${v}`), `azure-dev.yml does not read vars.${v}`);
  });
});
