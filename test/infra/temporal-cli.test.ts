// The embedded default's search for a Temporal CLI: explicit path, PATH (supported versions only), the
// cached build, an earlier SDK download, and one message listing the fixes when nothing is found. Fake
// CLIs are shell scripts that answer `--version` like the real one.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { findTemporal, parseCliVersion, sdkDownloadDir, versionAtLeast } from '../../infra/temporal-cli.js';

let root: string;
let emptyBin: string;

function fakeCli(file: string, version: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `#!/bin/sh\necho "temporal version ${version} (Server 1.29.1, UI 2.42.1)"\n`);
  chmodSync(file, 0o755);
  return file;
}

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'dreamsweep-temporal-cli-'));
  emptyBin = path.join(root, 'empty-bin');
  mkdirSync(emptyBin);
  vi.stubEnv('DREAMSWEEP_CACHE', path.join(root, 'cache'));
  vi.stubEnv('PATH', emptyBin); // no temporal, no go
  vi.stubEnv('DREAMSWEEP_TEMPORAL_BIN', '');
  vi.stubEnv('DREAMSWEEP_TEMPORAL_DOWNLOAD', 'off');
});

afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(root, { recursive: true, force: true });
});

describe('findTemporal', () => {
  it('parses and compares CLI versions', () => {
    expect(parseCliVersion('temporal version 1.5.1 (Server 1.29.1, UI 2.42.1)\n')).toBe('1.5.1');
    expect(parseCliVersion('temporal version 0.0.0-DEV (Server 1.29.1, UI 2.42.1)')).toBe('0.0.0-DEV');
    expect(parseCliVersion('something else')).toBeUndefined();
    expect(versionAtLeast('0.0.0-DEV', '1.0.0')).toBe(true); // built from source: no version to compare
    expect(versionAtLeast('1.5.1', '1.0.0')).toBe(true);
    expect(versionAtLeast('0.13.2', '1.0.0')).toBe(false);
    expect(versionAtLeast('1.0.0', '1.0.0')).toBe(true);
    expect(versionAtLeast('10.0.0', '9.9.9')).toBe(true);
  });

  it('takes the flag over DREAMSWEEP_TEMPORAL_BIN over PATH', async () => {
    const a = fakeCli(path.join(root, 'a', 'temporal'), '1.2.0');
    const b = fakeCli(path.join(root, 'b', 'temporal'), '1.3.0');
    fakeCli(path.join(emptyBin, 'temporal'), '1.4.0');
    vi.stubEnv('DREAMSWEEP_TEMPORAL_BIN', b);
    expect(await findTemporal({ flag: a })).toEqual({ path: a, source: 'flag', version: '1.2.0' });
    expect(await findTemporal()).toEqual({ path: b, source: 'env', version: '1.3.0' });
    vi.stubEnv('DREAMSWEEP_TEMPORAL_BIN', '');
    expect(await findTemporal()).toEqual({ path: path.join(emptyBin, 'temporal'), source: 'path', version: '1.4.0' });
  });

  it('refuses an explicit path that is not a Temporal CLI instead of passing it over', async () => {
    vi.stubEnv('DREAMSWEEP_TEMPORAL_BIN', path.join(root, 'missing'));
    await expect(findTemporal()).rejects.toMatchObject({ code: 'E_TEMPORAL_BIN', message: expect.stringContaining('DREAMSWEEP_TEMPORAL_BIN') });
    const notCli = path.join(root, 'not-cli');
    writeFileSync(notCli, '#!/bin/sh\necho hello\n');
    chmodSync(notCli, 0o755);
    await expect(findTemporal({ flag: notCli })).rejects.toMatchObject({ code: 'E_TEMPORAL_BIN', message: expect.stringContaining('--temporal-bin') });
  });

  it('passes over a PATH CLI older than supported, to the cached build', async () => {
    fakeCli(path.join(emptyBin, 'temporal'), '0.13.2');
    const cached = fakeCli(path.join(root, 'cache', 'bin', 'temporal-v1.5.1', 'temporal'), '1.5.1');
    expect(await findTemporal()).toMatchObject({ path: cached, source: 'cache' });
  });

  it('uses an earlier SDK download when PATH and the cache have none', async () => {
    const file = fakeCli(path.join(sdkDownloadDir(), 'temporal-sdk-typescript-1.24.0'), '1.4.1');
    expect(await findTemporal()).toEqual({ path: file, source: 'sdk-download', version: '1.4.1' });
  });

  it('lists what it tried and the three fixes when nothing is found', async () => {
    fakeCli(path.join(emptyBin, 'temporal'), '0.9.0');
    const e = (await findTemporal().then(
      () => undefined,
      (x: unknown) => x,
    )) as Error & { code: string };
    expect(e).toMatchObject({ code: 'E_NO_TEMPORAL' });
    expect(e.message).toContain('version 0.9.0, older than 1.0.0');
    expect(e.message).toContain('DREAMSWEEP_TEMPORAL_DOWNLOAD=off');
    expect(e.message).toContain('no Go toolchain');
    expect(e.message).toMatch(/1\. install the Temporal CLI[\s\S]*2\. use a Temporal server[\s\S]*3\. install Go/);
  });
});
