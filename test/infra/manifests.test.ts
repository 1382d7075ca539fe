// The deployment files under infra/ (Kubernetes, docker compose, Dockerfiles) read as their tools read
// them and agree with each other and with the worker's real command line. Docker cannot run here, so the
// Dockerfiles are checked as text; kustomize (built by `npm run servers:build`, or kubectl's) renders the kustomizations.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { binaryPath, KUSTOMIZE } from '../../infra/binaries.js';
import { loadSweepFile } from '../../core/sweep/spec.js';
import { runCli } from '../helpers/cli.js';

const ROOT = path.join(import.meta.dirname, '../..');
const K8S = path.join(ROOT, 'infra/k8s');
const BASE = path.join(K8S, 'base');
const COMPOSE = path.join(ROOT, 'infra/compose/docker-compose.yaml');
const DOCKER = path.join(ROOT, 'infra/docker');
const METRICS_PORT = 9464;
const GPU = 'nvidia.com/gpu';

// The paper's sweep file: the queue names and namespace workers must serve.
const SWEEP = loadSweepFile(path.join(ROOT, 'sweeps/residual-stream.yaml'));
const QUEUES = SWEEP.temporal.taskQueues;

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Every document of a YAML file (multi-document aware, `<<` merges on), failing on any parse error. */
function loadYaml(file: string): Obj[] {
  return parseYamlText(readFileSync(file, 'utf8'), file);
}

function parseYamlText(text: string, where: string): Obj[] {
  return parseAllDocuments(text, { merge: true })
    .map((doc, i) => {
      expect(doc.errors.map((e) => `${where} #${i}: ${e.message}`)).toEqual([]);
      return doc.toJS({ maxAliasCount: 1000 }) as Obj;
    })
    .filter((d) => d !== null);
}

function yamlFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => path.join(dir, f))
    .sort();
}

// ---------------------------------------------------------------------------------------------------
// The worker's command line

interface WorkerCli {
  flags: Set<string>;
  backends: string[];
}

let cli: WorkerCli;

beforeAll(async () => {
  const r = await runCli(['worker', '--help']);
  expect(r.code, `dreamsweep worker --help failed:\n${r.stderr}`).toBe(0);
  const flags = new Set(r.stdout.match(/--[a-z][a-z0-9-]*/g) ?? []);
  const choices = /--backend[^\n]*?\(choices: ([^)]*)\)/.exec(r.stdout.replace(/\n\s+/g, ' '));
  cli = { flags, backends: choices ? [...choices[1]!.matchAll(/"([^"]+)"/g)].map((m) => m[1]!) : [] };
}, 60_000);

/** `worker --a 1 --b x` -> {a: '1', b: 'x'}; every flag of `dreamsweep worker` takes a value. */
function parseWorkerArgs(args: string[]): Map<string, string> {
  expect(args[0], `worker command: ${args.join(' ')}`).toBe('worker');
  const out = new Map<string, string>();
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!;
    expect(a, `expected a --flag at position ${i} of ${args.join(' ')}`).toMatch(/^--[a-z]/);
    const v = args[i + 1];
    expect(v, `${a} needs a value in ${args.join(' ')}`).toBeDefined();
    expect(v!.startsWith('--'), `${a} needs a value in ${args.join(' ')}`).toBe(false);
    out.set(a, v!);
    i++;
  }
  return out;
}

function checkWorkerFlags(args: Map<string, string>, where: string): void {
  for (const flag of args.keys()) expect(cli.flags, `${where}: ${flag} is not an option of 'dreamsweep worker'`).toContain(flag);
  const backend = args.get('--backend');
  if (backend !== undefined) expect(cli.backends, `${where}: --backend ${backend}`).toContain(backend);
  expect(Number(args.get('--shutdown-grace')), `${where}: --shutdown-grace`).toBeGreaterThan(0);
  expect(args.get('--metrics-port'), `${where}: --metrics-port`).toBe(String(METRICS_PORT));
}

// ---------------------------------------------------------------------------------------------------
// Kubernetes

const API_VERSIONS: Record<string, string> = {
  Namespace: 'v1',
  ServiceAccount: 'v1',
  ConfigMap: 'v1',
  Secret: 'v1',
  Deployment: 'apps/v1',
  PodDisruptionBudget: 'policy/v1',
  ScaledObject: 'keda.sh/v1alpha1',
  TriggerAuthentication: 'keda.sh/v1alpha1',
  Kustomization: 'kustomize.config.k8s.io/v1beta1',
};

const byKind = (docs: Obj[], kind: string) => docs.filter((d) => d.kind === kind);
const named = (docs: Obj[], kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata?.name === name);

/** The worker container of a Deployment, with its args resolved ($(VAR) from env and ConfigMaps). */
function workerOf(dep: Obj, docs: Obj[]) {
  const where = `Deployment ${dep.metadata.name}`;
  const containers: Obj[] = dep.spec.template.spec.containers;
  const c = containers.find((x) => x.args?.[0] === 'worker');
  expect(c, `${where}: a container with args [worker, ...]`).toBeDefined();
  const env = new Map<string, string | undefined>();
  for (const e of (c!.env ?? []) as Obj[]) {
    const ref = e.valueFrom?.configMapKeyRef;
    env.set(e.name, e.value ?? (ref ? named(docs, 'ConfigMap', ref.name)?.data?.[ref.key] : undefined));
  }
  const resolved = (c!.args as string[]).map((a) =>
    a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (_, v: string) => {
      expect(env.get(v), `${where}: $(${v}) in args needs an env entry with a value`).toBeDefined();
      return env.get(v)!;
    }),
  );
  const args = parseWorkerArgs(resolved);
  return { container: c!, env, args, queues: (args.get('--queues') ?? '').split(',').map((q) => q.trim()) };
}

/** Cross-file facts of one set of Kubernetes documents (the base files, or a rendered kustomization). */
function checkBundle(docs: Obj[], secrets: Obj[], where: string): void {
  for (const d of docs) {
    expect(API_VERSIONS[d.kind], `${where}: unexpected kind ${d.kind}`).toBeDefined();
    expect(d.apiVersion, `${where}: ${d.kind} ${d.metadata?.name}`).toBe(API_VERSIONS[d.kind]);
    if (d.kind !== 'Kustomization') expect(d.metadata?.name, `${where}: ${d.kind} without a name`).toBeTruthy();
  }
  const deployments = byKind(docs, 'Deployment');
  expect(deployments.length, `${where}: Deployments`).toBe(2);

  for (const dep of deployments) {
    const w = `${where}: Deployment ${dep.metadata.name}`;
    const pod = dep.spec.template.spec;
    const { container, args, queues } = workerOf(dep, docs);
    expect(dep.spec.replicas, `${w}: KEDA owns replicas; leave spec.replicas out`).toBeUndefined();
    for (const [k, v] of Object.entries(dep.spec.selector.matchLabels)) expect(dep.spec.template.metadata.labels[k], `${w}: selector ${k}`).toBe(v);
    checkWorkerFlags(args, w);

    // Grace: the pod outlives the worker's drain by enough to checkpoint.
    const grace = Number(args.get('--shutdown-grace'));
    expect(pod.terminationGracePeriodSeconds, `${w}: terminationGracePeriodSeconds vs --shutdown-grace ${grace}`).toBeGreaterThan(grace);

    // Metrics port and readiness on /healthz; never liveness on it (a draining worker answers 503).
    const port = (container.ports as Obj[]).find((p) => p.containerPort === METRICS_PORT);
    expect(port, `${w}: containerPort ${METRICS_PORT}`).toBeDefined();
    const probe = container.readinessProbe?.httpGet;
    expect(probe?.path, `${w}: readinessProbe path`).toBe('/healthz');
    expect([METRICS_PORT, port!.name], `${w}: readinessProbe port`).toContain(probe?.port);
    expect(container.livenessProbe?.httpGet?.path, `${w}: no liveness probe on /healthz`).not.toBe('/healthz');
    expect(container.resources?.requests?.memory, `${w}: memory request`).toBeDefined();
    expect(container.resources?.limits?.memory, `${w}: memory limit`).toBeDefined();
    expect(pod.securityContext?.runAsNonRoot, `${w}: runAsNonRoot`).toBe(true);

    // Settings the worker reads: every referenced ConfigMap key and Secret key exists.
    for (const e of (container.env ?? []) as Obj[]) {
      const cm = e.valueFrom?.configMapKeyRef;
      if (cm) expect(Object.keys(named(docs, 'ConfigMap', cm.name)?.data ?? {}), `${w}: env ${e.name} -> ConfigMap ${cm.name}`).toContain(cm.key);
      const sec = e.valueFrom?.secretKeyRef;
      if (sec) expect(Object.keys(named(secrets, 'Secret', sec.name)?.stringData ?? {}), `${w}: env ${e.name} -> Secret ${sec.name}`).toContain(sec.key);
    }
    for (const v of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE'])
      expect(
        (container.env as Obj[]).map((e) => e.name),
        `${w}: env`,
      ).toContain(v);
    for (const m of (container.volumeMounts ?? []) as Obj[])
      expect(
        (pod.volumes as Obj[]).map((v) => v.name),
        `${w}: volume ${m.name}`,
      ).toContain(m.name);

    const gpus = container.resources?.limits?.[GPU];
    if (queues.includes(QUEUES.model)) {
      expect(gpus, `${w}: ${GPU} limit`).toBe(1);
      expect(args.get('--concurrency'), `${w}: one unit per GPU`).toBe('1');
      expect(args.get('--engine') === 'torch' || ['tensorflow', 'webgpu'].includes(args.get('--backend')!), `${w}: the torch engine or a GPU backend`).toBe(true);
      if (args.get('--engine') === 'torch') expect(args.get('--device'), `${w}: CUDA asked for explicitly (no silent CPU fallback)`).toBe('cuda');
      expect(
        (pod.tolerations as Obj[]).map((t) => t.key),
        `${w}: tolerates GPU taints`,
      ).toContain(GPU);
      expect(pod.nodeSelector, `${w}: nodeSelector for GPU nodes`).toBeDefined();
    } else {
      expect(gpus, `${w}: a CPU worker asks for no GPU`).toBeUndefined();
    }
  }
  const served = deployments.flatMap((d) => workerOf(d, docs).queues);
  expect(served.sort(), `${where}: the queues served`).toEqual([QUEUES.aux, QUEUES.model].sort());

  // KEDA: one temporal-scaler ScaledObject per worker Deployment, consistent with it.
  const scaled = byKind(docs, 'ScaledObject');
  expect(scaled.map((s) => s.spec.scaleTargetRef.name).sort(), `${where}: ScaledObject targets`).toEqual(deployments.map((d) => d.metadata.name).sort());
  for (const so of scaled) {
    const w = `${where}: ScaledObject ${so.metadata.name}`;
    const dep = named(docs, 'Deployment', so.spec.scaleTargetRef.name);
    expect(dep, `${w}: scaleTargetRef names no Deployment`).toBeDefined();
    const { env, queues } = workerOf(dep!, docs);
    expect(so.spec.minReplicaCount, `${w}: minReplicaCount`).toBeGreaterThanOrEqual(0);
    expect(so.spec.maxReplicaCount, `${w}: maxReplicaCount`).toBeGreaterThanOrEqual(Math.max(1, so.spec.minReplicaCount));
    expect(so.spec.cooldownPeriod, `${w}: cooldownPeriod`).toBeGreaterThan(0);
    const down = so.spec.advanced?.horizontalPodAutoscalerConfig?.behavior?.scaleDown;
    expect(down?.stabilizationWindowSeconds, `${w}: scaleDown.stabilizationWindowSeconds`).toBeGreaterThanOrEqual(300);
    expect(down?.policies?.length, `${w}: scaleDown.policies`).toBeGreaterThan(0);
    for (const p of down.policies as Obj[]) {
      expect(p.type, w).toBe('Pods');
      expect(p.value, `${w}: pods per period`).toBeLessThanOrEqual(2);
      expect(p.periodSeconds, `${w}: period`).toBeGreaterThanOrEqual(60);
    }
    expect(so.spec.triggers.length, w).toBe(1);
    const t = so.spec.triggers[0];
    expect(t.type, w).toBe('temporal');
    const md: Obj = t.metadata;
    for (const [k, v] of Object.entries(md)) expect(typeof v, `${w}: KEDA metadata ${k} must be a string`).toBe('string');
    for (const k of ['namespace', 'taskQueue', 'targetQueueSize', 'activationTargetQueueSize', 'queueTypes']) expect(md[k], `${w}: metadata.${k}`).toBeDefined();
    expect(queues, `${w}: taskQueue ${md.taskQueue} vs the Deployment's --queues`).toContain(md.taskQueue);
    expect(md.namespace, `${w}: namespace vs the workers' TEMPORAL_NAMESPACE`).toBe(env.get('TEMPORAL_NAMESPACE'));
    if (md.endpointFromEnv !== undefined) expect(env.get(md.endpointFromEnv), `${w}: endpointFromEnv ${md.endpointFromEnv}`).toBeDefined();
    else expect(md.endpoint, `${w}: endpoint`).toMatch(/^[^:/]+:\d+$/);
    const types = md.queueTypes.split(',').map((s: string) => s.trim());
    for (const q of types) expect(['workflow', 'activity'], `${w}: queueTypes`).toContain(q);
    expect(types, `${w}: units are activities`).toContain('activity');
    expect(Number(md.targetQueueSize), w).toBeGreaterThan(0);
    if (md.taskQueue === QUEUES.aux) {
      // Sweep workflows run on the aux queue (cli/sweep.ts): its workers count workflow tasks and never go to zero.
      expect(types, `${w}: queueTypes`).toContain('workflow');
      expect(so.spec.minReplicaCount, `${w}: minReplicaCount`).toBeGreaterThanOrEqual(1);
    }
    if (t.authenticationRef) expect(named(docs, 'TriggerAuthentication', t.authenticationRef.name), `${w}: authenticationRef`).toBeDefined();
  }
  for (const ta of byKind(docs, 'TriggerAuthentication')) {
    for (const r of ta.spec.secretTargetRef as Obj[]) {
      expect(['apiKey', 'ca', 'cert', 'key', 'keyPassword'], `TriggerAuthentication ${ta.metadata.name}`).toContain(r.parameter);
      expect(Object.keys(named(secrets, 'Secret', r.name)?.stringData ?? {}), `TriggerAuthentication ${ta.metadata.name} -> Secret ${r.name}`).toContain(r.key);
    }
  }

  const pdb = byKind(docs, 'PodDisruptionBudget');
  for (const b of pdb) {
    const match = deployments.filter((d) => Object.entries(b.spec.selector.matchLabels).every(([k, v]) => d.spec.template.metadata.labels[k] === v));
    expect(match.length, `${where}: PodDisruptionBudget ${b.metadata.name} selects one Deployment`).toBe(1);
  }
}

describe('Kubernetes manifests (infra/k8s)', () => {
  const files = yamlFiles(K8S);
  const secrets = loadYaml(path.join(BASE, 'secrets.example.yaml'));

  it('every YAML file parses, and every document has an apiVersion and kind', () => {
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const docs = loadYaml(f);
      expect(docs.length, f).toBeGreaterThan(0);
      for (const d of docs) {
        expect(d.kind, f).toBeTruthy();
        expect(d.apiVersion, `${f}: ${d.kind}`).toBe(API_VERSIONS[d.kind]);
      }
    }
  });

  it('the base kustomization lists every manifest beside it except the secrets template', () => {
    const k = loadYaml(path.join(BASE, 'kustomization.yaml'))[0]!;
    const here = readdirSync(BASE).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && f !== 'secrets.example.yaml');
    expect([...k.resources].sort()).toEqual(here.sort());
    expect(k.resources).not.toContain('secrets.example.yaml');
    for (const img of k.images as Obj[]) expect(img.name).toMatch(/^dreamsweep\/worker-(gpu|cpu)$/);
  });

  it('the base manifests agree with each other, with the worker CLI and with the sweep file', () => {
    const docs = (loadYaml(path.join(BASE, 'kustomization.yaml'))[0]!.resources as string[]).flatMap((f) => loadYaml(path.join(BASE, f)));
    checkBundle(docs, secrets, 'base');
    expect(named(docs, 'ConfigMap', 'dreamsweep-worker')!.data.TEMPORAL_NAMESPACE).toBe(SWEEP.temporal.namespace);
  });

  it('the model worker runs the agreed command line', () => {
    const dep = loadYaml(path.join(BASE, 'worker-gpu.yaml'))[0]!;
    const args = dep.spec.template.spec.containers[0].args;
    expect(args).toEqual([
      'worker',
      '--queues',
      '$(DREAMSWEEP_MODEL_QUEUE)',
      '--concurrency',
      '1',
      '--engine',
      'torch',
      '--device',
      'cuda',
      '--shutdown-grace',
      '60',
      '--metrics-port',
      '9464',
    ]);
    expect(dep.spec.template.spec.terminationGracePeriodSeconds).toBe(120);
  });

  it('every --flag written anywhere under infra/k8s is an option of dreamsweep worker (patches included)', () => {
    const found = new Set<string>();
    const walk = (v: unknown): void => {
      if (typeof v === 'string') {
        if (/^--[a-z][a-z0-9-]*$/.test(v)) found.add(v);
        // JSON-patch strings inside kustomizations are YAML themselves.
        if (v.includes('\n') && v.includes('op:')) parseYamlText(v, 'inline patch').forEach(walk);
      } else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    files.forEach((f) => loadYaml(f).forEach(walk));
    expect(found).toContain('--api-key-env');
    for (const f of found) expect(cli.flags, `${f} is not an option of 'dreamsweep worker'`).toContain(f);
  });

  // kustomize as `npm run servers:build` builds it (CI always does), else kubectl's built-in copy.
  const render: ((dir: string) => string) | undefined = (() => {
    if (existsSync(binaryPath(KUSTOMIZE))) return (dir: string) => execFileSync(binaryPath(KUSTOMIZE), ['build', dir], { encoding: 'utf8' });
    try {
      execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
      return (dir: string) => execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
    } catch {
      if (process.env['CI']) throw new Error(`CI renders the kustomizations: ${binaryPath(KUSTOMIZE)} is missing (run npm run servers:build)`);
      return undefined;
    }
  })();

  it.skipIf(!render).each([['base'], ['overlays/temporal-cloud']])('kustomize renders %s into a consistent set', (dir) => {
    const out = render!(path.join(K8S, dir));
    const docs = parseYamlText(out, dir);
    checkBundle(docs, secrets, dir);
    for (const d of docs) if (d.kind !== 'Namespace') expect(d.metadata.namespace, `${d.kind} ${d.metadata.name}`).toBe('dreamsweep');
    if (dir.startsWith('overlays/temporal-cloud')) {
      for (const dep of byKind(docs, 'Deployment')) {
        const { args, env } = workerOf(dep, docs);
        expect(args.get('--api-key-env')).toBe('TEMPORAL_API_KEY');
        expect([...env.keys()]).toContain('TEMPORAL_API_KEY');
      }
      for (const so of byKind(docs, 'ScaledObject')) expect(so.spec.triggers[0].authenticationRef?.name).toBe('dreamsweep-temporal');
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// docker compose

describe('docker compose cluster (infra/compose)', () => {
  const compose = () => {
    const docs = loadYaml(COMPOSE);
    expect(docs.length).toBe(1);
    return docs[0]!;
  };

  it('runs Temporal on PostgreSQL, MinIO with its bucket, and the workers', () => {
    const s = compose().services as Obj;
    expect(s.postgres.image).toMatch(/^postgres:\d+/);
    expect(s.temporal.image).toMatch(/^temporalio\/auto-setup:\d+\.\d+\.\d+$/);
    expect(s.temporal.environment.DB).toBe('postgres12');
    expect(s[s.temporal.environment.POSTGRES_SEEDS], 'POSTGRES_SEEDS names the postgres service').toBeDefined();
    expect(s.temporal.environment.POSTGRES_PWD).toBe(s.postgres.environment.POSTGRES_PASSWORD);
    expect(s.minio.image).toMatch(/^minio\/minio:RELEASE\./);
    expect(s['minio-setup'].command.join(' ')).toMatch(/mc mb --ignore-existing local\/dreamsweep/);
    for (const [name, svc] of Object.entries(s) as [string, Obj][]) {
      for (const dep of Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {})) expect(s[dep], `${name} depends on ${dep}`).toBeDefined();
    }
  });

  it('workers reach Temporal and MinIO by service name, with MinIO credentials, and drain before the kill', () => {
    const s = compose().services as Obj;
    const workers = Object.entries(s).filter(([, svc]) => (svc as Obj).command?.[0] === 'worker') as [string, Obj][];
    expect(workers.map(([n]) => n).sort()).toEqual(['worker-aux', 'worker-gpu', 'worker-model']);
    const queues = new Set<string>();
    for (const [name, svc] of workers) {
      const args = parseWorkerArgs(svc.command);
      checkWorkerFlags(args, `compose ${name}`);
      args
        .get('--queues')!
        .split(',')
        .forEach((q) => queues.add(q));
      const env = svc.environment;
      expect(s[env.TEMPORAL_ADDRESS.split(':')[0]], `${name}: TEMPORAL_ADDRESS ${env.TEMPORAL_ADDRESS}`).toBeDefined();
      expect(env.TEMPORAL_NAMESPACE).toBe(SWEEP.temporal.namespace);
      expect(s[new URL(env.AWS_ENDPOINT_URL_S3).hostname], `${name}: AWS_ENDPOINT_URL_S3`).toBeDefined();
      expect(env.AWS_ACCESS_KEY_ID).toBe(s.minio.environment.MINIO_ROOT_USER);
      expect(env.AWS_SECRET_ACCESS_KEY).toBe(s.minio.environment.MINIO_ROOT_PASSWORD);
      const stop = /^(\d+)s$/.exec(svc.stop_grace_period);
      expect(Number(stop?.[1]), `${name}: stop_grace_period vs --shutdown-grace`).toBeGreaterThan(Number(args.get('--shutdown-grace')));
      const dockerfile = path.join(path.dirname(COMPOSE), svc.build.context, svc.build.dockerfile);
      expect(existsSync(dockerfile), `${name}: ${dockerfile}`).toBe(true);
    }
    expect([...queues].sort()).toEqual([QUEUES.aux, QUEUES.model].sort());
    expect(s['worker-model'].deploy.replicas).toBeGreaterThanOrEqual(2);
    expect(s['worker-gpu'].profiles).toEqual(['gpu']);
    expect(s['worker-gpu'].deploy.resources.reservations.devices[0].driver).toBe('nvidia');
    expect(parseWorkerArgs(s['worker-gpu'].command).get('--device'), 'compose worker-gpu: --device cuda').toBe('cuda');
  });
});

// ---------------------------------------------------------------------------------------------------
// Dockerfiles

interface Instr {
  op: string;
  args: string;
}

/** Instructions of a Dockerfile: comments dropped, `\` continuations joined. */
function dockerfile(name: string): Instr[] {
  const text = readFileSync(path.join(DOCKER, name), 'utf8');
  const lines = text.split('\n').filter((l) => !/^\s*#/.test(l));
  const joined = lines.join('\n').replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const m = /^(\S+)\s+(.*)$/.exec(l)!;
      return { op: m[1]!.toUpperCase(), args: m[2]!.replace(/\s+/g, ' ') };
    });
}

const last = (ins: Instr[], op: string) => ins.filter((i) => i.op === op).at(-1)?.args;
const env = (ins: Instr[]) => Object.fromEntries(ins.filter((i) => i.op === 'ENV').flatMap((i) => [...i.args.matchAll(/([A-Z_][A-Z0-9_]*)=(\S+)/g)].map((m) => [m[1], m[2]])));
const finalStage = (ins: Instr[]) => ins.slice(ins.map((i) => i.op).lastIndexOf('FROM'));

/** Top-level directories (and infra/*.ts files) that the worker's sources import. */
function importedRoots(dirs: string[]): Set<string> {
  const roots = new Set<string>();
  const files = dirs.flatMap((d) => (readdirSync(path.join(ROOT, d), { recursive: true }) as string[]).map((f) => path.join(ROOT, d, f)));
  for (const f of files.filter((x) => /\.(ts|js)$/.test(x))) {
    if (f.startsWith(path.join(ROOT, 'infra')) && path.dirname(f) !== path.join(ROOT, 'infra')) continue;
    for (const m of readFileSync(f, 'utf8').matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)) {
      const rel = path.relative(ROOT, path.resolve(path.dirname(f), m[1]!));
      const [top, ...rest] = rel.split(path.sep);
      roots.add(top === 'infra' ? `infra/${rest.join('/')}` : top!);
    }
  }
  return roots;
}

describe.each([
  ['worker-cpu.Dockerfile', '--backend', 'wasm', 'DREAMSWEEP_BACKEND'],
  ['worker-gpu.Dockerfile', '--engine', 'torch', 'DREAMSWEEP_ENGINE'],
])('%s', (name, flag, value, envKey) => {
  const ins = dockerfile(name);
  const final = finalStage(ins);

  it('runs node bin/dreamsweep.js worker under tini as a non-root user, stopping on SIGTERM', () => {
    expect(last(final, 'USER')).toBeDefined();
    expect(['root', '0']).not.toContain(last(final, 'USER'));
    expect(last(final, 'STOPSIGNAL')).toBe('SIGTERM');
    expect(JSON.parse(last(final, 'ENTRYPOINT')!)).toEqual(['/usr/bin/tini', '--', 'node', 'bin/dreamsweep.js']);
    const cmd = JSON.parse(last(final, 'CMD')!) as string[];
    const args = parseWorkerArgs(cmd);
    checkWorkerFlags(args, name);
    expect(args.get(flag)).toBe(value);
    expect(env(final)[envKey]).toBe(value);
    if (value === 'torch') expect(args.get('--device'), `${name}: --device cuda (no silent CPU fallback)`).toBe('cuda');
    expect(ins.some((i) => i.op === 'RUN' && /apt-get install [^&]*\btini\b/.test(i.args))).toBe(true);
    expect(last(final, 'EXPOSE')).toBe(String(METRICS_PORT));
  });

  it('installs production dependencies from the lockfile', () => {
    expect(ins.some((i) => i.op === 'RUN' && i.args.includes('npm ci --omit=dev'))).toBe(true);
    expect(ins.some((i) => i.op === 'COPY' && /package\.json package-lock\.json/.test(i.args))).toBe(true);
  });

  it('copies every source directory the worker imports, and its ignore file keeps out the rest', () => {
    const copied = new Set(
      final
        .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
        .flatMap((i) => i.args.split(' ').slice(0, -1))
        .map((p) => p.replace(/\/$/, '')),
    );
    expect(copied).toContain('bin');
    const roots = importedRoots([...copied].filter((p) => p !== 'infra/*.ts' && existsSync(path.join(ROOT, p)) && !p.includes('.')).concat(['infra']));
    for (const r of roots) {
      const ok = copied.has(r) || (r.startsWith('infra/') && !r.slice(6).includes('/') && copied.has('infra/*.ts'));
      expect(ok, `${name}: the worker imports ${r}, which the image does not copy`).toBe(true);
    }
    const ignore = readFileSync(path.join(DOCKER, `${name}.dockerignore`), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignore).toEqual(expect.arrayContaining(['**/node_modules', '.git', 'test']));
    for (const c of copied) expect(ignore, `${name}.dockerignore excludes ${c}, which the image copies`).not.toContain(c);
  });
});

describe('worker-gpu.Dockerfile specifics', () => {
  const ins = dockerfile('worker-gpu.Dockerfile');

  it('builds on Python for x86-64 with Node 20 from the official image', () => {
    const froms = ins.filter((i) => i.op === 'FROM').map((i) => i.args);
    expect(froms).toContain('node:20-bookworm-slim AS node');
    expect(froms.some((f) => /^--platform=linux\/amd64 python:3\.1\d-slim-bookworm AS base$/.test(f))).toBe(true);
    expect(froms.at(-1)).toBe('base');
    expect(ins.some((i) => i.op === 'COPY' && i.args === '--from=node /usr/local/bin/node /usr/local/bin/node')).toBe(true);
  });

  it("installs the torch engine's pins from its pyproject.toml, copies the engine and points the worker at its Python", () => {
    const run = ins
      .filter((i) => i.op === 'RUN')
      .map((i) => i.args)
      .join('\n');
    expect(run).toMatch(/python -m venv \/opt\/torch-engine/);
    expect(run).toMatch(/tomllib\.load\(open\('\/tmp\/pyproject\.toml', 'rb'\)\)\['project'\]\['dependencies'\]/);
    expect(ins.some((i) => i.op === 'COPY' && i.args === 'engines/torch/pyproject.toml /tmp/pyproject.toml')).toBe(true);
    const final = finalStage(ins);
    expect(final.some((i) => i.op === 'COPY' && i.args === 'engines ./engines')).toBe(true);
    expect(final.some((i) => i.op === 'COPY' && i.args === '--from=torch /opt/torch-engine /opt/torch-engine')).toBe(true);
    const e = env(final);
    expect(e.DREAMSWEEP_TORCH_PYTHON).toBe('/opt/torch-engine/bin/python');
    expect(e.NVIDIA_DRIVER_CAPABILITIES!.split(',').sort()).toEqual(['compute', 'utility']);
    expect(e.NVIDIA_VISIBLE_DEVICES).toBe('all');
  });
});
