// `dreamsweep sweep launch|status|resume|cancel|list`: sweeps on Temporal. With no Temporal address
// configured (flag, TEMPORAL_ADDRESS, or the sweep file), the embedded default runs the dev server and an
// in-process worker here, so one machine runs a whole sweep with one command.
import path from 'node:path';
import cliProgress from 'cli-progress';
import { Client, Connection, WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Command } from 'commander';
import { UserError } from '../core/errors.js';
import { reportPrefix, sweepIdOf } from '../core/sweep/plan.js';
import { preflightLocal } from '../core/sweep/preflight.js';
import { backendOption } from './engine-options.js';
import { progressFromStore, type OfflineProgress } from './sweep-offline.js';
import { loadSweepFile, type SweepSpec } from '../core/sweep/spec.js';
import { connectOrStartEmbedded, runningEmbedded, type EmbeddedTemporal } from '../infra/embedded.js';
import { stateDir } from '../infra/state-dir.js';
import { temporalConnectionOptions, type TemporalTarget } from '../workers/connection.js';
import { rootCause } from '../workers/user-errors.js';
import { progressQuery, sweepWorkflow, unitList, type SweepInput, type SweepOutcome, type SweepProgress } from '../workflows/sweep.js';

interface Target {
  temporalAddress?: string;
  namespace?: string;
  temporalBin?: string;
}

interface Session {
  client: Client;
  target: TemporalTarget;
  embedded?: EmbeddedTemporal;
  close(): Promise<void>;
}

/**
 * Connects to the configured Temporal, or to (or as) the embedded default. `existingOnly`: commands that
 * only look at or stop a sweep (status, cancel, list) use an embedded server a running sweep left, and
 * never start one just to find nothing there.
 */
function configuredAddress(flags: Target, spec?: SweepSpec): string | undefined {
  return flags.temporalAddress || process.env.TEMPORAL_ADDRESS || spec?.temporal.address || undefined;
}

async function openSession(flags: Target, spec?: SweepSpec, existingOnly = false): Promise<Session> {
  const address = configuredAddress(flags, spec);
  const namespace = flags.namespace ?? process.env.TEMPORAL_NAMESPACE ?? spec?.temporal.namespace ?? 'default';
  let embedded: EmbeddedTemporal | undefined;
  let target: TemporalTarget;
  if (address) target = { ...spec?.temporal, address, namespace };
  else {
    embedded = existingOnly ? await runningEmbedded() : await connectOrStartEmbedded(stateDir(), { temporalBin: flags.temporalBin });
    if (!embedded) {
      throw new UserError(
        'E_NO_TEMPORAL_RUNNING',
        `no Temporal address is configured and no embedded Temporal server is running for ${stateDir()} (it runs only while a \`sweep launch\` there does). ` +
          `Point at a server with --temporal-address HOST:PORT or TEMPORAL_ADDRESS, run this from the directory the sweep was launched in (or set DREAMSWEEP_STATE_DIR), or \`dreamsweep sweep resume ID|FILE\` to run the sweep again`,
      );
    }
    target = { address: embedded.address, namespace: embedded.namespace };
    if (embedded.owned) process.stderr.write(`dreamsweep: started the embedded Temporal server at ${embedded.address}; Temporal UI while it runs: ${embedded.uiUrl}\n`);
  }
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...(await temporalConnectionOptions(target)), connectTimeout: 10_000 });
  } catch (e) {
    await embedded?.stop();
    throw new UserError(
      'E_TEMPORAL_CONNECT',
      `cannot reach Temporal at ${target.address} (${(e as Error).message}); check --temporal-address / TEMPORAL_ADDRESS, or unset them to use the embedded default`,
    );
  }
  const client = new Client({ connection, namespace: target.namespace });
  return {
    client,
    target,
    embedded,
    close: async () => {
      await connection.close();
      await embedded?.stop();
    },
  };
}

export function registerSweep(program: Command): void {
  const sweep = program.command('sweep').description('run sweeps on Temporal: launch, status, resume, cancel, list');
  const withTarget = (c: Command) =>
    c
      .option('--temporal-address <host:port>', 'Temporal frontend (default: TEMPORAL_ADDRESS, the sweep file, else the embedded server)')
      .option('--namespace <ns>', 'Temporal namespace');
  /** The options of the commands that run a sweep (launch, resume): LocalOptions. */
  const withRunOptions = (c: Command) =>
    withTarget(c)
      .option('--wait', 'stay until the sweep ends, showing progress')
      .addOption(backendOption('tfjs backend for the embedded worker'))
      .option('--local-workers <n>', 'model worker processes of the embedded default (default: one per core, within memory)', positiveInt)
      .option(
        '--temporal-bin <path>',
        'Temporal CLI for the embedded server (default: DREAMSWEEP_TEMPORAL_BIN, `temporal` on PATH, the cached build, an SDK download, then go install)',
      );

  withRunOptions(sweep.command('launch <file>').description('validate a sweep file, start the sweep and print its ID')).action(async (file: string, o: LocalOptions) => {
    const spec = loadSweepFile(file);
    await startAndMaybeWait(spec, o, o.wait ?? false);
  });

  withRunOptions(sweep.command('resume <idOrFile>').description('run a stopped sweep again: only unfinished units run')).action(async (idOrFile: string, o: LocalOptions) => {
    if (/\.ya?ml$/i.test(idOrFile)) return startAndMaybeWait(loadSweepFile(idOrFile), o, o.wait ?? false);
    const session = await openSession(o);
    let spec: SweepSpec;
    try {
      spec = await specOf(session.client, idOrFile);
    } finally {
      await session.close();
    }
    await startAndMaybeWait(spec, o, o.wait ?? false);
  });

  withTarget(sweep.command('status <id>').description('live progress per method and layer'))
    .option('--once', 'print one snapshot and exit')
    .option('--json', 'print the progress as JSON and exit')
    .action(async (id: string, o: Target & { once?: boolean; json?: boolean }) => {
      const session = await openSession(o, undefined, true);
      try {
        const handle = session.client.workflow.getHandle<typeof sweepWorkflow>(id);
        await knownSweep(id, () => handle.describe());
        if (o.json) {
          const desc = await handle.describe();
          const p = await queryProgress(handle).catch(() => undefined);
          const status = desc.status.name === 'RUNNING' ? (p?.status ?? 'running') : closedStatus(desc.status.name);
          // No worker to answer: the same counts from the store and the workflow's description.
          const out = p ? { ...p, status } : await progressFromStore(session.client, session.target.namespace, desc, await specOf(session.client, id), status);
          process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
          return;
        }
        await watch(handle, !o.once, session);
      } finally {
        await session.close();
      }
    });

  withTarget(sweep.command('cancel <id>').description('cancel a sweep; running units checkpoint first')).action(async (id: string, o: Target) => {
    const session = await openSession(o, undefined, true);
    try {
      await knownSweep(id, () => session.client.workflow.getHandle(id).cancel());
      process.stdout.write(`cancelled ${id}; 'dreamsweep sweep resume ${id}' continues it\n`);
    } finally {
      await session.close();
    }
  });

  withTarget(sweep.command('list').description('sweeps known to the Temporal server')).action(async (o: Target) => {
    const session = await openSession(o, undefined, true);
    try {
      for await (const w of session.client.workflow.list({ query: `WorkflowType = '${sweepWorkflow.name}'` })) {
        process.stdout.write(`${w.workflowId}\t${w.status.name}\t${w.startTime.toISOString()}\n`);
      }
    } finally {
      await session.close();
    }
  });
}

/** Runs `call`; a sweep the server does not know is a user mistake, said plainly. */
async function knownSweep<T>(id: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) throw new UserError('E_SWEEP_UNKNOWN', `no sweep ${id} on this Temporal server; 'dreamsweep sweep list' shows the known ones`);
    throw e;
  }
}

type LocalOptions = Target & { wait?: boolean; backend?: string; localWorkers?: number };

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UserError('E_CLI', `--local-workers: expected an integer >= 1, got ${value}`);
  return n;
}

async function startAndMaybeWait(spec: SweepSpec, o: LocalOptions, wait: boolean): Promise<void> {
  // The embedded default's workers share this filesystem: check the sweep's files before any server starts.
  if (!configuredAddress(o, spec)) await preflightLocal(spec, (line) => process.stderr.write(`dreamsweep: ${line}\n`));
  const session = await openSession(o, spec);
  // Imported here: the local workers load the worker SDK and tfjs, which `sweep status|cancel|list` never need.
  const local = session.embedded ? (await import('../infra/local-workers.js')).startLocalWorkers(session.target, spec, { backend: o.backend, workers: o.localWorkers }) : undefined;
  try {
    const sweepId = sweepIdOf(spec);
    const input: SweepInput = { spec };
    const start = () =>
      session.client.workflow.start(sweepWorkflow, {
        taskQueue: spec.temporal.taskQueues.aux,
        workflowId: sweepId,
        args: [input],
        // A finished or failed sweep may run again (resume): its finished units are found in the store.
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      });
    try {
      await start();
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
      const handle = session.client.workflow.getHandle<typeof sweepWorkflow>(sweepId);
      const p = await queryProgress(handle).catch(() => undefined);
      if (p?.status === 'cancelling') {
        // A cancelled sweep whose units are still checkpointing: let it close, then start it again.
        process.stderr.write(`dreamsweep: sweep ${sweepId} is still cancelling; waiting for it to stop\n`);
        await handle.result().catch(() => {});
        await start();
      } else process.stderr.write(`dreamsweep: sweep ${sweepId} is already running; following it\n`);
    }
    process.stdout.write(`${sweepId}\n`);
    // The embedded default always waits: its server and worker live in this process.
    if (!wait && !session.embedded) return;
    const handle = session.client.workflow.getHandle<typeof sweepWorkflow>(sweepId);
    const watching = watch(handle, true, session);
    let outcome: SweepOutcome;
    try {
      outcome = await handle.result();
    } catch (e) {
      await watching.catch(() => {});
      const root = rootCause(e);
      throw new UserError(root.code ?? 'E_SWEEP_FAILED', `sweep ${sweepId} did not finish: ${root.message}`);
    }
    await watching;
    process.stderr.write(`dreamsweep: sweep ${sweepId} finished: ${outcome.ran} units run, ${outcome.cached} already done, of ${outcome.total}\n`);
    process.stderr.write(`dreamsweep: artifacts in ${spec.storage.uri}\n`);
    const report = `${reportPrefix(sweepId)}/report.html`;
    const where = spec.storage.uri.startsWith('s3://') ? `${spec.storage.uri.replace(/\/$/, '')}/${report}` : path.join(spec.storage.uri, report);
    process.stdout.write(`report: ${where}\n`);
  } finally {
    await local?.stop();
    await session.close();
  }
}

type SweepHandle = WorkflowHandle<typeof sweepWorkflow>;

/**
 * The workflow's own progress; it needs a worker polling the sweep's queue, so it gets a 10 s deadline (which
 * also ends the client's retries of it: none is left running to fail after the connection closes).
 */
async function queryProgress(handle: SweepHandle): Promise<SweepProgress> {
  return handle.client.withDeadline(Date.now() + 10_000, () => handle.query(progressQuery));
}

/** Progress bars per method and layer, refreshed each second while the sweep runs. */
async function watch(handle: SweepHandle, follow: boolean, session: Session): Promise<void> {
  const interactive = process.stderr.isTTY && follow;
  const bars = interactive
    ? new cliProgress.MultiBar({ format: '{name} [{bar}] {value}/{total} {extra}', hideCursor: true, clearOnComplete: false }, cliProgress.Presets.shades_classic)
    : undefined;
  const rows = new Map<string, cliProgress.SingleBar>();
  let last = '';
  let failures = ''; // printed once the bars are gone
  let offline: { at: number; p: OfflineProgress } | undefined;
  try {
    for (;;) {
      const desc = await handle.describe();
      let p: SweepProgress | undefined;
      try {
        p = await queryProgress(handle);
        offline = undefined;
      } catch {
        // No worker to answer: the counts from the store (read at most every 10 s), and why.
        if (!offline || Date.now() - offline.at > 10_000) {
          const status = desc.status.name === 'RUNNING' ? 'running' : closedStatus(desc.status.name);
          const o = await specOf(session.client, handle.workflowId)
            .then((spec) => progressFromStore(session.client, session.target.namespace, desc, spec, status))
            .catch(() => undefined);
          offline = o && { at: Date.now(), p: o };
        }
        if (offline) {
          const o = offline.p;
          const failed = o.failed === null ? 'failed unknown' : `${o.failed} failed`;
          const line = `${handle.workflowId}: ${o.status}, ${o.done}/${o.total} units done (${o.ran} run, ${o.cached} already done), ${o.running} running, ${failed} (from the store and the workflow's history); ${o.noWorker}`;
          if (line !== last && bars) bars.log(`${line}\n`);
          else if (line !== last) process.stderr.write(`${line}\n`);
          last = line;
          if (!follow || desc.status.name !== 'RUNNING') {
            if (o.failed && o.failures?.length) failures = failureLines({ failed: o.failed, failures: o.failures });
            return;
          }
          await new Promise((r) => setTimeout(r, 1_000));
          continue;
        }
      }
      if (p) {
        for (const g of p.groups) {
          const name = `${g.method}${g.layer !== undefined ? ` L${g.layer}` : ''}`.padEnd(10);
          const extra = `${g.running ? `${g.running} running ` : ''}${g.failed ? `${g.failed} failed` : ''}`;
          if (bars) {
            let bar = rows.get(name);
            if (!bar) rows.set(name, (bar = bars.create(g.total, 0, { name, extra })));
            bar.update(g.done + g.failed, { name, extra });
          }
        }
        // A closed sweep's own status says how it ended (a plan that failed never left 'planning').
        const status = desc.status.name === 'RUNNING' ? p.status : closedStatus(desc.status.name);
        const line = `${handle.workflowId}: ${status}, ${p.done}/${p.total} units done (${p.ran} run, ${p.cached} already done), ${p.running} running, ${p.failed} failed`;
        const waiting = waitingFor(desc);
        const shown = waiting.length ? `${line}; waiting for ${waiting.join('; ')}` : line;
        if (!bars && shown !== last) process.stderr.write(`${shown}\n`);
        else if (bars && waiting.length && shown !== last) bars.log(`waiting for ${waiting.join('; ')}\n`);
        last = shown;
      }
      if (!follow || desc.status.name !== 'RUNNING') {
        if (!p) process.stderr.write(`${handle.workflowId}: ${closedStatus(desc.status.name)}\n`);
        else if (p.failures?.length) failures = failureLines(p);
        return;
      }
      await new Promise((r) => setTimeout(r, 1_000));
    }
  } finally {
    bars?.stop();
    process.stderr.write(failures);
  }
}

/** Failed units by kind: how many, which (a few ids), and one message as it was. */
function failureLines(p: Pick<SweepProgress, 'failed' | 'failures'>): string {
  const kinds = p.failures ?? [];
  const lines = kinds.map((f) => `  ${f.count} x ${f.example}\n    units: ${f.units?.length ? unitList(f) : '(not recorded)'}\n`);
  return `failed units by kind (${p.failed} failed, ${kinds.length} kind${kinds.length === 1 ? '' : 's'}):\n${lines.join('')}`;
}

/** What running units wait for (an artifact store outage), from their last heartbeat. */
function waitingFor(desc: Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['describe']>>): string[] {
  const out = new Set<string>();
  for (const a of desc.raw.pendingActivities ?? []) {
    const payload = a.heartbeatDetails?.payloads?.[0];
    if (!payload) continue;
    try {
      const details = defaultPayloadConverter.fromPayload(payload) as { waitingFor?: unknown };
      if (typeof details?.waitingFor === 'string') out.add(details.waitingFor);
    } catch {
      // not ours
    }
  }
  return [...out];
}

/** Temporal's word for how a workflow ended, as `sweep status` says it. */
function closedStatus(name: string): string {
  const words: Record<string, string> = {
    COMPLETED: 'done',
    FAILED: 'failed',
    CANCELLED: 'cancelled',
    TERMINATED: 'terminated',
    TIMED_OUT: 'timed out',
    CONTINUED_AS_NEW: 'handed over',
    RUNNING: 'running',
  };
  return words[name] ?? name.toLowerCase();
}

/** The spec a sweep was started with, from the first event of its latest run. */
async function specOf(client: Client, sweepId: string): Promise<SweepSpec> {
  let history;
  try {
    history = await client.workflow.getHandle<typeof sweepWorkflow>(sweepId).fetchHistory();
  } catch {
    throw new UserError('E_SWEEP_UNKNOWN', `no sweep ${sweepId} on this Temporal server; 'dreamsweep sweep list' shows the known ones, or resume from the sweep file`);
  }
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) throw new Error(`sweep ${sweepId}: its start event has no input`);
  return (defaultPayloadConverter.fromPayload(payload) as SweepInput).spec;
}
