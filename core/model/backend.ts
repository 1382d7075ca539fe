// TensorFlow.js backend selection: by option, else env DREAMSWEEP_BACKEND, else wasm. Optional backends
// (webgpu through Dawn, tfjs-node) load by dynamic import only when asked (DESIGN.md section 6).
import * as tf from '@tensorflow/tfjs-core';
// The union package registers every op's gradient (tfjs-core's own register_all_gradients is ESM with
// directory imports that Node cannot resolve); it also brings the cpu backend.
import '@tensorflow/tfjs';
import { UserError } from '../errors.js';

export const BACKENDS = ['wasm', 'cpu', 'webgpu', 'tensorflow'] as const;
export type BackendName = (typeof BACKENDS)[number];

let active: Promise<BackendName> | undefined;
let activeName: BackendName | undefined;

/** Chooses the backend name: explicit option, then DREAMSWEEP_BACKEND, then wasm. */
export function resolveBackendName(requested?: string): BackendName {
  const name = requested ?? process.env['DREAMSWEEP_BACKEND'] ?? 'wasm';
  if (!(BACKENDS as readonly string[]).includes(name)) {
    const from = requested !== undefined ? '--backend' : 'DREAMSWEEP_BACKEND';
    throw new UserError(
      'E_BACKEND_UNKNOWN',
      `${from}: expected one of ${BACKENDS.join(', ')}, got "${name}"`,
    );
  }
  return name as BackendName;
}

/**
 * Initialises the tfjs backend once per process (tfjs state is global). A second call asking for a different
 * backend is an error rather than a silent switch under live tensors.
 */
export async function initBackend(requested?: string): Promise<BackendName> {
  const name = resolveBackendName(requested);
  if (active) {
    const current = await active;
    if (current !== name) {
      throw new UserError(
        'E_BACKEND_CONFLICT',
        `backend ${name} requested, but this process already runs ${current}; use one backend per process`,
      );
    }
    return current;
  }
  active = setUp(name);
  try {
    activeName = await active;
  } catch (e) {
    active = undefined;
    throw e;
  }
  return activeName;
}

/** The backend initialised in this process, if any. */
export function currentBackend(): BackendName | undefined {
  return activeName;
}

async function setUp(name: BackendName): Promise<BackendName> {
  // Library code never prints: PROD silences tfjs's console advice ("install tfjs-node ...").
  tf.env().set('PROD', true);
  switch (name) {
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      break;
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      break;
    case 'webgpu':
      await setUpWebGpu();
      break;
    case 'tensorflow':
      await setUpTfjsNode();
      break;
  }
  const ok = await tf.setBackend(name);
  if (!ok) {
    throw new UserError('E_BACKEND_INIT', `backend ${name} failed to initialise on this machine; try --backend wasm`);
  }
  await tf.ready();
  return name;
}

// Specifiers in variables keep TypeScript (and bundlers) from requiring these optional packages.
async function optionalImport(spec: string, hint: string): Promise<Record<string, unknown>> {
  try {
    return (await import(spec)) as Record<string, unknown>;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new UserError('E_BACKEND_MISSING', `package ${spec} is not installed; ${hint}`, { cause: e });
    }
    throw e;
  }
}

async function setUpWebGpu(): Promise<void> {
  // Dawn's Node binding; tfjs-backend-webgpu registers only if navigator.gpu and window exist at import time.
  const dawn = await optionalImport('webgpu', 'npm install webgpu @tensorflow/tfjs-backend-webgpu@4.22.0');
  const create = dawn['create'] as ((flags: string[]) => unknown) | undefined;
  if (typeof create !== 'function') throw new UserError('E_BACKEND_INIT', 'package webgpu has no create()');
  const g = globalThis as Record<string, unknown>;
  for (const [k, v] of Object.entries((dawn['globals'] as Record<string, unknown> | undefined) ?? {})) g[k] ??= v;
  const gpu = create([]);
  if (!gpu) throw new UserError('E_BACKEND_INIT', 'webgpu: no GPU adapter found (Dawn/Vulkan); try --backend wasm');
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  g['window'] ??= globalThis;
  await optionalImport('@tensorflow/tfjs-backend-webgpu', 'npm install @tensorflow/tfjs-backend-webgpu@4.22.0 webgpu');
}

async function setUpTfjsNode(): Promise<void> {
  try {
    await optionalImport('@tensorflow/tfjs-node-gpu', '');
  } catch (e) {
    if ((e as UserError).code !== 'E_BACKEND_MISSING') throw e;
    await optionalImport(
      '@tensorflow/tfjs-node',
      'install @tensorflow/tfjs-node-gpu (CUDA) or @tensorflow/tfjs-node; both download libtensorflow at install time',
    );
  }
}
