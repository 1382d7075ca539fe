// The engine options every model command shares: --threads past the cores is capped and said so (100000 threads
// each with a model copy ended in a heap out of memory), and torch-only options are refused on tfjs.
import { availableParallelism } from 'node:os';
import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { capThreads, checkEngineOptions } from '../../cli/engine-options.js';

describe('engine options', () => {
  it('caps --threads at the cores this process may use, and says so', () => {
    const cap = availableParallelism();
    for (const given of [100_000, '100000'] as const) {
      const cmd = new Command('x').option('--threads <n>');
      cmd.setOptionValue('threads', given);
      const lines: string[] = [];
      const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (lines.push(String(chunk)), true));
      try {
        capThreads(cmd, given);
      } finally {
        write.mockRestore();
      }
      expect(cmd.opts().threads).toBe(typeof given === 'string' ? String(cap) : cap);
      expect(lines.join('')).toBe(`dreamsweep: --threads 100000 is more than the ${cap} cores this process may use; using ${cap}\n`);
    }
  });

  it('leaves a --threads within the cores as it is', () => {
    const cmd = new Command('x').option('--threads <n>');
    cmd.setOptionValue('threads', 1);
    capThreads(cmd, 1);
    expect(cmd.opts().threads).toBe(1);
  });

  it('refuses --dtype and --device on tfjs, and a device name torch does not know', () => {
    // vitest.config.ts sets DREAMSWEEP_ENGINE=tfjs: the engine when --engine is not given.
    expect(() => checkEngineOptions({ dtype: 'float32' })).toThrow(expect.objectContaining({ code: 'E_CLI_CONFLICT', message: expect.stringContaining('DREAMSWEEP_ENGINE=tfjs') }));
    expect(() => checkEngineOptions({ engine: 'tfjs', device: 'cpu' })).toThrow(expect.objectContaining({ code: 'E_CLI_CONFLICT' }));
    expect(() => checkEngineOptions({ engine: 'torch', device: 'gpu' })).toThrow(expect.objectContaining({ code: 'E_TORCH_DEVICE' }));
    expect(() => checkEngineOptions({ engine: 'torch', device: 'cuda:1', dtype: 'float16' })).not.toThrow();
  });

  it('with auto, refuses --dtype and --device only where auto picks tfjs on this machine', () => {
    // A tfjs backend named: auto picks tfjs wherever it runs.
    expect(() => checkEngineOptions({ engine: 'auto', backend: 'wasm', dtype: 'float16' })).toThrow(
      expect.objectContaining({ code: 'E_CLI_CONFLICT', message: expect.stringContaining('--engine auto, which picks tfjs here: a tfjs backend is named (wasm)') }),
    );
    vi.stubEnv('DREAMSWEEP_ENGINE', '');
    try {
      // Torch installed (a Python named): auto picks torch, and the options are its.
      vi.stubEnv('DREAMSWEEP_TORCH_PYTHON', '/usr/bin/python3');
      expect(() => checkEngineOptions({ dtype: 'float16', device: 'cpu' })).not.toThrow();
      expect(() => checkEngineOptions({ engine: 'auto', dtype: 'float16' })).not.toThrow();
      // Not installed: auto picks tfjs, and the line says why.
      vi.stubEnv('DREAMSWEEP_TORCH_PYTHON', '');
      vi.stubEnv('DREAMSWEEP_CACHE', '/nonexistent/dreamsweep-cache');
      expect(() => checkEngineOptions({ dtype: 'float16' })).toThrow(
        expect.objectContaining({
          code: 'E_CLI_CONFLICT',
          message: expect.stringMatching(/the engine is auto \(the default\), which picks tfjs here: the torch engine is not installed/),
        }),
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
