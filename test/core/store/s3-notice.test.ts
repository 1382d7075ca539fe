// The AWS SDK's notice that later SDK versions will need Node 22 stays out of dreamsweep's output on the
// Node versions dreamsweep supports, while a real SDK error still reaches the caller.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.join(import.meta.dirname, '../../..');
const script = `
import { s3Client } from './core/store/s3.ts';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
const c = s3Client({ endpoint: 'http://127.0.0.1:1', region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
try { await c.send(new ListBucketsCommand({})); console.log('no error'); } catch (e) { console.log('sdk error: ' + (e.code ?? e.name)); }
`;

function run(env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, env: { ...process.env, ...env } }, (_err, stdout, stderr) =>
      resolve({ stdout, stderr }),
    );
  });
}

describe('AWS SDK Node-version notice', () => {
  it('is not printed, and a connection error still surfaces', async () => {
    const { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: _, ...env } = process.env;
    const r = await run(env as Record<string, string>);
    expect(r.stderr).not.toMatch(/NodeVersionSupportWarning|AWS SDK for JavaScript/);
    expect(r.stdout).toMatch(/sdk error: ECONNREFUSED/);
  });
});
