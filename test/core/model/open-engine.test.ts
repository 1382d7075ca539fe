// #29: `auto` is the default engine; it picks torch wherever its Python environment is installed (GPU or CPU),
// tfjs where a tfjs backend is named or nothing is installed. (vitest.config.ts sets DREAMSWEEP_ENGINE=tfjs for
// the other tests: these set their own environment.)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { autoEngine, requestedEngine, resolveEngine } from '../../../core/model/open-engine.js';

const KEYS = ['DREAMSWEEP_ENGINE', 'DREAMSWEEP_BACKEND', 'DREAMSWEEP_TORCH_PYTHON', 'DREAMSWEEP_CACHE'] as const;
let saved: Record<string, string | undefined>;
beforeEach(() => {
  saved = Object.fromEntries(KEYS.map((k) => [k, process.env[k]]));
  for (const k of KEYS) delete process.env[k];
});
afterEach(() => {
  for (const k of KEYS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe('the default engine', () => {
  it('is auto, unless an option or DREAMSWEEP_ENGINE names one; an unknown name is refused', () => {
    expect(requestedEngine()).toBe('auto');
    process.env['DREAMSWEEP_ENGINE'] = 'tfjs';
    expect(requestedEngine()).toBe('tfjs');
    expect(requestedEngine('torch')).toBe('torch');
    expect(() => requestedEngine('jax')).toThrow(/--engine: expected one of tfjs, torch, auto, got "jax"/);
  });

  it('auto picks torch wherever its Python is installed, on the CPU too, and tfjs where a tfjs backend is named', () => {
    process.env['DREAMSWEEP_TORCH_PYTHON'] = '/opt/venv/bin/python';
    expect(autoEngine()).toEqual({
      engine: 'torch',
      why: expect.stringMatching(/^the torch engine's Python is installed \(\/opt\/venv\/bin\/python\), on (an NVIDIA GPU|the CPU: no NVIDIA GPU here)$/),
    });
    expect(resolveEngine()).toBe('torch');
    expect(resolveEngine('auto', 'wasm')).toBe('tfjs');
    expect(autoEngine('cpu').why).toBe('a tfjs backend is named (cpu)');
    process.env['DREAMSWEEP_BACKEND'] = 'tensorflow';
    expect(resolveEngine('auto')).toBe('tfjs');
    expect(resolveEngine('torch')).toBe('torch'); // a name is taken at its word
  });

  it('auto picks tfjs (wasm, nothing to install) where the torch engine is not installed', () => {
    process.env['DREAMSWEEP_CACHE'] = mkdtempSync(path.join(tmpdir(), 'no-engines-'));
    expect(autoEngine()).toEqual({ engine: 'tfjs', why: expect.stringMatching(/^the torch engine is not installed \(`npm run engines:torch` installs it\); wasm needs nothing$/) });
    expect(resolveEngine()).toBe('tfjs');
  });
});
