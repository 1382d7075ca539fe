// The webgpu backend (Dawn over Vulkan) against wasm and transformers. Any Vulkan adapter serves: CI uses
// Mesa's lavapipe (Vulkan on the CPU, which .ci/run installs); an NVIDIA GPU needs its Vulkan ICD.
// Without an adapter the file skips locally and fails under CI, where the adapter is part of the setup.
import { initBackend } from '../../../core/model/backend.js';
import { backendParity } from './backend-parity.js';

const unavailable = await initBackend('webgpu').then(
  () => undefined,
  (e: Error) => e.message,
);
if (unavailable && process.env['CI']) throw new Error(`CI needs a WebGPU adapter for this test: ${unavailable}`);
backendParity('webgpu', unavailable);
