// The embedded default runs a `temporal` CLI found on PATH (no Go, no cached build), says so, and serves;
// a second command finds it through embedded.json instead of starting another.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { binaryPath, TEMPORAL } from '../../infra/binaries.js'; // a source build: it says 0.0.0-DEV
import { connectOrStartEmbedded, runningEmbedded } from '../../infra/embedded.js';

const root = mkdtempSync(path.join(tmpdir(), 'dreamsweep-embedded-'));
afterAll(() => {
  vi.unstubAllEnvs();
  rmSync(root, { recursive: true, force: true });
});

describe('the embedded Temporal server', () => {
  it('runs the temporal CLI on PATH when the cache has none, and names it', async () => {
    const bin = path.join(root, 'bin');
    mkdirSync(bin);
    symlinkSync(binaryPath(TEMPORAL), path.join(bin, 'temporal')); // the pinned build, standing in for a Homebrew install
    const lines: string[] = [];
    const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (lines.push(String(chunk)), true));
    vi.stubEnv('PATH', `${bin}${path.delimiter}${process.env.PATH}`);
    vi.stubEnv('DREAMSWEEP_CACHE', path.join(root, 'empty-cache'));
    vi.stubEnv('DREAMSWEEP_TEMPORAL_BIN', '');
    vi.stubEnv('DREAMSWEEP_TEMPORAL_DOWNLOAD', 'off');
    const state = path.join(root, 'state');
    let server;
    try {
      server = await connectOrStartEmbedded(state);
    } finally {
      write.mockRestore();
    }
    try {
      expect(server.owned).toBe(true);
      expect(lines.join('')).toContain(`Temporal server: ${path.join(bin, 'temporal')} (0.0.0-DEV), the \`temporal\` on PATH`);
      const again = await runningEmbedded(state);
      expect(again?.address).toBe(server.address);
    } finally {
      await server.stop();
    }
    expect(await runningEmbedded(state)).toBeUndefined();
  });
});
