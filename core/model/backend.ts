// TensorFlow.js backend selection: by option, else env DREAMSWEEP_BACKEND, else wasm. Optional backends
// (webgpu through Dawn, tfjs-node) load by dynamic import only when asked (docs/engine.md).
import * as tf from '@tensorflow/tfjs-core';
// The union package registers every op's gradient (tfjs-core's own register_all_gradients is ESM with
// directory imports that Node cannot resolve); it also brings the cpu backend.
import '@tensorflow/tfjs';
import { UserError } from '../errors.js';
import { BACKENDS, type BackendName } from './names.js';

let active: Promise<BackendName> | undefined;
let activeName: BackendName | undefined;
let activeDevice: string | undefined;

/** The backend named by option, else by DREAMSWEEP_BACKEND (empty means unset); undefined when neither names one. */
export function requestedBackend(option?: string): string | undefined {
  return option ?? (process.env['DREAMSWEEP_BACKEND'] || undefined);
}

/** Chooses the backend name: explicit option, then DREAMSWEEP_BACKEND, then wasm. */
export function resolveBackendName(requested?: string): BackendName {
  const name = requestedBackend(requested) ?? 'wasm';
  if (!(BACKENDS as readonly string[]).includes(name)) {
    const from = requested !== undefined ? '--backend' : 'DREAMSWEEP_BACKEND';
    throw new UserError('E_BACKEND_UNKNOWN', `${from}: expected one of ${BACKENDS.join(', ')}, got "${name}"`);
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
      throw new UserError('E_BACKEND_CONFLICT', `backend ${name} requested, but this process already runs ${current}; use one backend per process`);
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

/** The backend and the device it runs on, for logs: "webgpu (nvidia hopper: NVIDIA H200)", "wasm (simd)". */
export function describeBackend(): string | undefined {
  return activeName && (activeDevice ? `${activeName} (${activeDevice})` : activeName);
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
      activeDevice = await setUpWebGpu();
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
  if (name === 'wasm') activeDevice = tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'simd' : 'no simd';
  if (name === 'tensorflow') {
    const gpu = (tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice;
    activeDevice = gpu ? 'libtensorflow, GPU' : 'libtensorflow, CPU';
  }
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

/** Installs Dawn as navigator.gpu and registers the tfjs webgpu backend; returns the adapter's description. */
async function setUpWebGpu(): Promise<string> {
  // Dawn's Node binding; tfjs-backend-webgpu registers only if navigator.gpu and window exist at import time.
  const dawn = await optionalImport('webgpu', 'npm install webgpu @tensorflow/tfjs-backend-webgpu@4.22.0');
  const create = dawn['create'] as ((flags: string[]) => GpuLike) | undefined;
  if (typeof create !== 'function') throw new UserError('E_BACKEND_INIT', 'package webgpu has no create()');
  const g = globalThis as Record<string, unknown>;
  for (const [k, v] of Object.entries((dawn['globals'] as Record<string, unknown> | undefined) ?? {})) g[k] ??= v;
  const gpu = create([]);
  // tfjs asks for the same adapter (high-performance) and fails with a bare TypeError when there is none.
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new UserError(
      'E_BACKEND_INIT',
      'webgpu: Dawn found no Vulkan adapter. Install the Vulkan loader (libvulkan1) and a driver: the NVIDIA ' +
        'driver with its ICD (set VK_DRIVER_FILES to nvidia_icd.json), or Mesa lavapipe on CPUs (Mesa 25 works; 22.3 is too old for Dawn); or use --backend wasm',
    );
  }
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  g['window'] ??= globalThis;
  await optionalImport('@tensorflow/tfjs-backend-webgpu', 'npm install @tensorflow/tfjs-backend-webgpu@4.22.0 webgpu');
  const i = adapter.info ?? {};
  return [[i.vendor, i.architecture].filter(Boolean).join(' '), i.description || i.device].filter(Boolean).join(': ') || 'unknown adapter';
}

// The slice of the WebGPU API used here (the webgpu package's own types are optional, like the package).
interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<{
    info?: { vendor?: string; architecture?: string; device?: string; description?: string };
  } | null>;
}

async function setUpTfjsNode(): Promise<void> {
  // libtensorflow logs CPU-feature notes to stderr at load; keep them off unless the user asked for them.
  process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '2';
  try {
    await optionalImport('@tensorflow/tfjs-node-gpu', '');
  } catch (e) {
    if ((e as UserError).code !== 'E_BACKEND_MISSING') throw e;
    await optionalImport('@tensorflow/tfjs-node', 'install @tensorflow/tfjs-node-gpu (CUDA) or @tensorflow/tfjs-node; both download libtensorflow at install time');
  }
}
