// The worker's model cache refuses a user's malformed model the way the launching machine does: a UserError
// with its code and the file's path, which the activity interceptor turns into a non-retryable failure (a
// SyntaxError would be retried for minutes as a bug, and reported without the file).
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.js';
import { createModelCache } from '../../workers/model-cache.js';
import { userErrorInterceptors } from '../../workers/user-errors.js';

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
