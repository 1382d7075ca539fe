// The tensorflow backend (@tensorflow/tfjs-node or -gpu, libtensorflow) against wasm and transformers.
// Neither package can be a dependency (their install downloads libtensorflow), so this file runs where one
// is installed (scripts/tfjs-node-offline.sh installs tfjs-node from PyPI's TensorFlow) and skips elsewhere.
import { initBackend } from '../../../core/model/backend.js';
import { backendParity } from './backend-parity.js';

const unavailable = await initBackend('tensorflow').then(
  () => undefined,
  (e: Error) => e.message,
);
backendParity('tensorflow', unavailable);
