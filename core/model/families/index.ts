// The model families dreamsweep runs, one line each (a family: family.ts). config.json picks one by its
// architectures[0], or by model_type when it lists none.
import { UserError } from '../../errors.js';
import { ConfigReader, describe, type FamilyKey, type ModelConfig } from '../config.js';
import type { Family } from './family.js';
import { gemma2, gemma3 } from './gemma.js';
import { gpt2 } from './gpt2.js';
import { gptNeoX } from './gpt-neox.js';
import { llama } from './llama.js';
import { mistral } from './mistral.js';
import { qwen2 } from './qwen2.js';
import { qwen3 } from './qwen3.js';

const FAMILIES: readonly Family[] = [gptNeoX, gpt2, llama, qwen2, qwen3, mistral, gemma2, gemma3];

/** The family of a parsed config (what a worker thread or the loader needs after parsing). */
export function family(key: FamilyKey): Family {
  return FAMILIES.find((f) => f.key === key)!;
}

/** Parses a config.json object into a checked ModelConfig by its family; an unsupported one says which are. */
export function parseModelConfig(raw: unknown, file = 'config.json'): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new UserError('E_MODEL_CONFIG', `${file}: expected a JSON object, got ${describe(raw)}`);
  }
  const c = new ConfigReader(raw as Record<string, unknown>, file);
  const archs = c.raw['architectures'];
  const arch = Array.isArray(archs) && archs.length > 0 ? archs[0] : undefined;
  const found = arch !== undefined ? FAMILIES.find((f) => f.architecture === arch) : FAMILIES.find((f) => f.modelType === c.raw['model_type']);
  if (!found) {
    const what = arch !== undefined ? `architectures: ${describe(arch)}` : `model_type: ${describe(c.raw['model_type'])}`;
    throw new UserError('E_MODEL_ARCH', `${file}: ${what} is not supported; dreamsweep runs ${FAMILIES.map((f) => f.architecture).join(', ')}`);
  }
  return found.parseConfig(c);
}
