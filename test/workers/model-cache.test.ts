// The worker's model cache. Issue #29: s3:// models stream to files, hashed on the way (no object is read whole:
// Node caps one buffer at 4 GiB), and at most one torch engine per device (loading another disposes the first).
// Issue #33: it refuses a user's malformed model the way the launching machine does: a UserError with its code and
// the file's path, which the activity interceptor turns into a non-retryable failure (a SyntaxError would be
// retried for minutes as a bug, and reported without the file).
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { ModelSpec, StorageSpec } from '../../activities/context.js';
import { UserError } from '../../core/errors.js';
import { rawEngine } from '../../core/model/bos.js';
import type { TorchEngine } from '../../core/model/torch-engine.js';
import { modelIdentity } from '../../core/model/identity.js';
import { torchPythonAvailable } from '../../core/model/torch-env.js';
import { openStore } from '../../core/store/index.js';
import { createModelCache, downloadModel } from '../../workers/model-cache.js';
import { userErrorInterceptors } from '../../workers/user-errors.js';

const MODELS = path.resolve('test/fixtures/models');
const scratch = mkdtempSync(path.join(tmpdir(), 'model-cache-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('downloadModel', () => {
  it('streams every object to its file and records the identity it hashed on the way', async () => {
    const source = path.join(MODELS, 'tiny-sharded-bf16');
    const store = openStore(source);
    store.get = () => Promise.reject(new Error('a whole-object read')); // objects must stream (openRead)
    const target = path.join(scratch, 'downloaded');
    const lines: string[] = [];
    expect(await downloadModel(store, 's3://bucket/tiny', target, (l) => lines.push(l))).toBe(target);
    const names = readdirSync(source).sort();
    expect(readdirSync(target).sort()).toEqual([...names, '.complete'].sort());
    for (const f of names) expect(readFileSync(path.join(target, f)).equals(readFileSync(path.join(source, f))), f).toBe(true);
    const complete = JSON.parse(readFileSync(path.join(target, '.complete'), 'utf8')) as { uri: string; identity: string };
    // The identity hashed while streaming is the one modelIdentity computes by reading the files.
    expect(complete).toEqual({ uri: 's3://bucket/tiny', identity: modelIdentity(source) });
    expect(modelIdentity(target)).toBe(complete.identity);
    expect(lines[0]).toMatch(/^downloading s3:\/\/bucket\/tiny \(6 files\)/);
    // A second call finds it complete and downloads nothing.
    store.openRead = () => Promise.reject(new Error('downloaded twice'));
    expect(await downloadModel(store, 's3://bucket/tiny', target)).toBe(target);
  });
});

describe.skipIf(!torchPythonAvailable())('createModelCache with the torch engine', () => {
  it('holds at most one torch engine per device: loading another model disposes the first', async () => {
    const lines: string[] = [];
    const cache = createModelCache({ engine: 'torch', device: 'cpu', threads: 1, log: (l) => lines.push(l) });
    const storage = {} as StorageSpec;
    const spec = (name: string, dtype?: 'float32' | 'bfloat16') => ({ path: path.join(MODELS, name), engine: 'torch', ...(dtype && { dtype }) }) as ModelSpec;
    try {
      const a = (await cache.engine(spec('tiny-parallel'), storage)) as TorchEngine;
      const pidA = a.pid!;
      expect(await cache.engine(spec('tiny-parallel'), storage)).toBe(a); // the same model: the same engine
      const b = (await cache.engine(spec('tiny-serial-rope1'), storage)) as TorchEngine;
      expect(() => process.kill(pidA, 0), 'the first engine process has exited').toThrow();
      expect(cache.loaded()).toEqual([expect.stringContaining('tiny-serial-rope1')]);
      expect(lines.join('\n')).toContain(`disposing ${path.join(MODELS, 'tiny-parallel')} (torch on cpu)`);
      // Another dtype of the same model is another engine too.
      const pidB = b.pid!;
      const c = (await cache.engine(spec('tiny-serial-rope1', 'bfloat16'), storage)) as TorchEngine;
      expect(c.hello.dtype).toBe('bfloat16');
      expect(() => process.kill(pidB, 0)).toThrow();
      expect(cache.loaded()).toHaveLength(1);
    } finally {
      await cache.dispose();
    }
  }, 300_000);

  it('waits for the process of a torch engine that withBos wrapped (a tokenizer with a BOS) before loading another', async () => {
    const cache = createModelCache({ engine: 'torch', device: 'cpu', threads: 1 });
    const storage = {} as StorageSpec;
    const spec = (name: string) => ({ path: path.join(MODELS, name), engine: 'torch' }) as ModelSpec;
    try {
      const a = await cache.engine(spec('tiny-llama3'), storage);
      const inner = rawEngine(a) as TorchEngine;
      expect(inner).not.toBe(a); // the cache holds withBos's wrapper
      const pid = inner.pid!;
      await cache.engine(spec('tiny-parallel'), storage);
      expect(() => process.kill(pid, 0), 'the wrapped engine process has exited').toThrow();
    } finally {
      await cache.dispose();
    }
  }, 300_000);
});

const MODEL = path.resolve('test/fixtures/models/tiny-parallel');

function brokenModel(config: string): string {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'dreamsweep-cache-')), 'model');
  cpSync(MODEL, dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), config);
  return dir;
}

const storage = { uri: './store' } as Parameters<ReturnType<typeof createModelCache>['describe']>[1];

describe('a worker meets a malformed config.json', () => {
  it('describe (the plan activity) refuses it with E_MODEL_CONFIG naming the file', async () => {
    const dir = brokenModel('{"model_type": "gpt_neox", ');
    const cache = createModelCache({ backend: 'cpu' });
    const err = await cache.describe({ path: dir } as never, storage).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe('E_MODEL_CONFIG');
    expect((err as Error).message).toBe(`${path.join(dir, 'config.json')}: not valid JSON`);
  });

  it('engine (every unit) refuses it with E_MODEL_CONFIG, on the pooled tfjs engine too', async () => {
    const dir = brokenModel('not json');
    const cache = createModelCache({ backend: 'cpu' });
    try {
      const err = await cache.engine({ path: dir, engine: 'tfjs' } as never, storage).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).code).toBe('E_MODEL_CONFIG');
    } finally {
      await cache.dispose();
    }
  });

  it('a missing model directory is E_MODEL_MISSING_FILE', async () => {
    const cache = createModelCache({ backend: 'cpu' });
    const err = await cache.describe({ path: '/nonexistent/model' } as never, storage).catch((e: unknown) => e);
    expect((err as UserError).code).toBe('E_MODEL_MISSING_FILE');
  });

  it('the interceptor makes the UserError a non-retryable failure keeping its code', async () => {
    const execute = userErrorInterceptors().inbound!.execute!;
    const err = await Promise.resolve(execute({ args: [], headers: {} }, () => Promise.reject(new UserError('E_MODEL_CONFIG', 'config.json: not valid JSON')))).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect((err as ApplicationFailure).details).toEqual([{ code: 'E_MODEL_CONFIG' }]);
  });
});

describe('a dtype where the engine is tfjs on this worker', () => {
  const expectRefused = async (cache: ReturnType<typeof createModelCache>, model: ModelSpec, why: RegExp) => {
    try {
      const err = await cache.engine(model, storage).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).code).toBe('E_ENGINE_DTYPE');
      expect((err as Error).message).toMatch(why);
      expect(cache.loaded()).toEqual([]); // refused before anything loads
    } finally {
      await cache.dispose();
    }
  };

  it('fails the unit at once where auto picks tfjs (a tfjs backend named), not ignoring the dtype', async () => {
    await expectRefused(
      createModelCache({ backend: 'cpu' }),
      { path: MODEL, engine: 'auto', dtype: 'float16' } as ModelSpec,
      /dtype float16 is for the torch engine, but engine auto picks tfjs on this worker \(.*\): a tfjs backend is named \(cpu\)/,
    );
  });

  it('and where auto picks tfjs because the torch engine is not installed', async () => {
    vi.stubEnv('DREAMSWEEP_TORCH_PYTHON', '');
    vi.stubEnv('DREAMSWEEP_BACKEND', '');
    vi.stubEnv('DREAMSWEEP_CACHE', '/nonexistent/dreamsweep-cache');
    try {
      await expectRefused(createModelCache({}), { path: MODEL, engine: 'auto', dtype: 'bfloat16' } as ModelSpec, /engine auto picks tfjs .*the torch engine is not installed/);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('and where a worker names --engine tfjs', async () => {
    await expectRefused(createModelCache({ engine: 'tfjs' }), { path: MODEL, engine: 'torch', dtype: 'float16' } as ModelSpec, /but the engine is tfjs/);
  });
});
