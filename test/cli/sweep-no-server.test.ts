// `sweep status|cancel|list` with no Temporal address and no running embedded server: a plain answer
// (exit 2, E_NO_TEMPORAL_RUNNING, how to point at a server), and no embedded server started to find out.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const state = mkdtempSync(path.join(tmpdir(), 'dreamsweep-no-server-'));
afterAll(() => rmSync(state, { recursive: true, force: true }));

describe('sweep status/cancel/list without a server', () => {
  for (const args of [['status', 'demo-123'], ['cancel', 'demo-123'], ['list']]) {
    it(`sweep ${args.join(' ')} says no server runs, and starts none`, async () => {
      const dir = path.join(state, args[0]!);
      const r = await runCli(['sweep', ...args], { DREAMSWEEP_STATE_DIR: dir, TEMPORAL_ADDRESS: '' });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('no embedded Temporal server is running');
      expect(r.stderr).toContain('--temporal-address');
      expect(r.stderr).not.toMatch(/\n\s+at |WorkflowNotFoundError/);
      expect(existsSync(path.join(dir, 'temporal.sqlite'))).toBe(false);
    });
  }

  it('passes over an embedded.json left by a process that died, and removes it', async () => {
    const dir = path.join(state, 'stale');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'embedded.json'), JSON.stringify({ address: '127.0.0.1:1', pid: 999999 }));
    const r = await runCli(['sweep', 'status', 'demo-123'], { DREAMSWEEP_STATE_DIR: dir, TEMPORAL_ADDRESS: '' });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('no embedded Temporal server is running');
    expect(readdirSync(dir)).toEqual([]);
  });
});
