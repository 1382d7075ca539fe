// An embedded `sweep launch` whose sweep fails (here: a bucket that does not exist) ends: exit 2 with the root
// cause's code, its local workers and server stopped, even when the sweep failed before a worker was up.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, inject, it } from 'vitest';
import { binaryPath, TEMPORAL } from '../../infra/binaries.js';
import { runCli } from '../helpers/cli.js';
import { MODEL, s3Env } from '../helpers/sweeps.js';

describe('an embedded sweep launch whose sweep fails', () => {
  it('exits 2 with the root cause instead of hanging', async () => {
    const servers = inject('servers');
    const dir = mkdtempSync(path.join(tmpdir(), 'dreamsweep-embedded-fail-'));
    const file = path.join(dir, 'sweep.yaml');
    writeFileSync(
      file,
      stringify({
        name: 'no-bucket',
        model: { path: MODEL, engine: 'tfjs' },
        study: { layers: [1], vectors: { count: 1, seed: 0 }, seqLen: 4 },
        methods: { random: { prompts: 8, seed: 0, batchSize: 8 } },
        storage: { uri: `s3://no-such-bucket-${Date.now()}/p`, endpoint: servers.s3.endpoint, region: servers.s3.region, forcePathStyle: true },
      }),
    );
    const started = Date.now();
    const r = await runCli(['sweep', 'launch', file, '--local-workers', '1'], {
      ...s3Env(servers),
      DREAMSWEEP_STATE_DIR: path.join(dir, '.state'),
      DREAMSWEEP_TEMPORAL_BIN: binaryPath(TEMPORAL),
      TEMPORAL_ADDRESS: '',
    });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/did not finish: .*the bucket does not exist.*\[E_STORE_NO_BUCKET\]\n$/);
    expect(Date.now() - started).toBeLessThan(120_000);
  }, 180_000);
});
