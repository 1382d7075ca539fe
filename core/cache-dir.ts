// The one directory dreamsweep caches into: the torch engine's Python environment (core/model/torch-env.ts), models
// fetched from S3 (workers/model-cache.ts), built server binaries (infra/binaries.ts).
import { homedir } from 'node:os';
import path from 'node:path';

/** $DREAMSWEEP_CACHE, else $XDG_CACHE_HOME/dreamsweep, else ~/.cache/dreamsweep. */
export function cacheDir(): string {
  if (process.env.DREAMSWEEP_CACHE) return path.resolve(process.env.DREAMSWEEP_CACHE);
  const base = process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  return path.join(base, 'dreamsweep');
}
