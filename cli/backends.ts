// `dreamsweep backends`: which tfjs backends (and the torch engine) run on this machine, and on what device. tfjs keeps one
// backend per process, so each is tried in a child process of its own (`--probe NAME`, not listed in help).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Option, type Command } from 'commander';
import { describeBackend, initBackend } from '../core/model/backend.js';
import { BACKENDS } from '../core/model/names.js';
import { autoEngine } from '../core/model/open-engine.js';
import { probeTorch } from '../core/model/torch-env.js';

export interface BackendProbe {
  backend: string;
  ok: boolean;
  /** The device line the backend reports, e.g. "webgpu (nvidia hopper: NVIDIA H200)". */
  device?: string;
  /** Why it cannot run here. */
  error?: string;
}

const BIN = fileURLToPath(new URL('../bin/dreamsweep.js', import.meta.url));

async function probe(backend: string): Promise<BackendProbe> {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, 'backends', '--probe', backend], { timeout: 120_000 }).catch(
    (e: { stdout?: string; stderr?: string; message: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr || e.message }),
  );
  try {
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as BackendProbe;
  } catch {
    // The process died before it could answer (a native crash, say): its last words say why.
    return { backend, ok: false, error: `the probe crashed: ${stderr.trim().split('\n').at(-1) ?? 'no output'}` };
  }
}

export function registerBackends(program: Command): void {
  program
    .command('backends')
    .description('list the tfjs backends and the torch engine that run on this machine, each tried in its own process')
    .option('--json', 'print the results as JSON')
    .addOption(new Option('--probe <name>').hideHelp())
    .action(async (o: { json?: boolean; probe?: string }) => {
      if (o.probe !== undefined) {
        const result: BackendProbe = await initBackend(o.probe).then(
          () => ({ backend: o.probe!, ok: true, device: describeBackend() }),
          (e: Error) => ({ backend: o.probe!, ok: false, error: e.message }),
        );
        process.stdout.write(`${JSON.stringify(result)}\n`);
        return;
      }
      const results: BackendProbe[] = [];
      for (const b of BACKENDS) results.push(await probe(b)); // one at a time: a GPU probe wants the machine
      results.push({ backend: 'torch', ...(await probeTorch()) }); // the PyTorch engine (--engine torch)
      // What --engine auto (the default) picks here, and why; where it picks torch but torch's probe failed, say so.
      const auto = autoEngine();
      const torch = results.at(-1)!;
      const autoLine = `auto picks ${auto.engine}: ${auto.why}${auto.engine === 'torch' && !torch.ok ? ` (but its probe failed: ${torch.error})` : ''}`;
      if (o.json) {
        process.stdout.write(`${JSON.stringify(results, null, 1)}\n`);
        return;
      }
      const width = Math.max(...results.map((r) => r.backend.length));
      for (const r of results) process.stdout.write(`${r.backend.padEnd(width)}  ${r.ok ? 'yes' : 'no '}  ${r.ok ? r.device : r.error}\n`);
      process.stdout.write(`${autoLine}\n`);
    });
}
