// The names a model runs under, one list each: tfjs backends, engines and torch compute dtypes. The sweep file's
// schema (core/sweep/sections.ts), the CLI's options and their help derive from these. No imports, so that the sweep
// schema loads no engine.

/** TensorFlow.js backends (core/model/backend.ts). */
export const BACKENDS = ['wasm', 'cpu', 'webgpu', 'tensorflow'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** Engines, by option (--engine, the sweep file's model.engine), env DREAMSWEEP_ENGINE, else auto (core/model/open-engine.ts). */
export const ENGINES = ['tfjs', 'torch', 'auto'] as const;
export type EngineChoice = (typeof ENGINES)[number];

/** The torch engine's compute dtypes (core/model/torch-env.ts). */
export const TORCH_DTYPES = ['float32', 'bfloat16', 'float16'] as const;
export type TorchDtype = (typeof TORCH_DTYPES)[number];
