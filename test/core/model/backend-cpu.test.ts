// The cpu backend (plain JavaScript kernels) against wasm and transformers.
import { backendParity } from './backend-parity.js';

backendParity('cpu');
