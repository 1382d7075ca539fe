// Store faults that no retry fixes fail at once and named; a store that never answers fails within its
// deadline (a TimeoutError, which workers wait out as an outage) instead of hanging every call.
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../core/errors.js';
import { closeS3Clients, openStore } from '../../../core/store/index.js';
import { outageReason } from '../../../workers/patient-store.js';

const sockets: Socket[] = [];
const servers: Server[] = [];
afterAll(() => {
  sockets.forEach((s) => s.destroy());
  servers.forEach((s) => s.close());
  closeS3Clients();
});

/** A server that accepts connections and never answers: a frozen S3. */
async function frozen(): Promise<string> {
  const server = createServer((s) => void sockets.push(s));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return `http://127.0.0.1:${port}`;
}

const credentials = { accessKeyId: 'k', secretAccessKey: 's' };

describe('an S3 store that accepts connections and never answers', () => {
  it('fails each call within its deadline, with an error workers treat as an outage', async () => {
    const store = openStore('s3://bucket/p', { endpoint: await frozen(), region: 'us-east-1', credentials, maxAttempts: 1, timeoutMs: 300 });
    const started = Date.now();
    const err = await store.get('a.json').catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(outageReason(err)).toBe('TimeoutError');
  }, 10_000);

  it('DREAMSWEEP_S3_TIMEOUT that is no number of seconds is refused', () => {
    process.env.DREAMSWEEP_S3_TIMEOUT = 'soon';
    try {
      expect(() => openStore('s3://bucket/p', { endpoint: 'http://127.0.0.1:1', credentials })).toThrow(expect.objectContaining({ code: 'E_STORE_TIMEOUT' }));
    } finally {
      delete process.env.DREAMSWEEP_S3_TIMEOUT;
    }
  });
});

describe('an S3 server that answers 403 without a body (a HEAD with wrong credentials)', () => {
  it('is E_STORE_ACCESS, not an unnamed UnknownError', async () => {
    const server = createHttpServer((_req, res) => res.writeHead(403).end());
    servers.push(server as unknown as Server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const store = openStore('s3://bucket/p', { endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials, maxAttempts: 1 });
    const err = await store.exists('a.json').catch((e: unknown) => e);
    expect((err as UserError).code).toBe('E_STORE_ACCESS');
    expect((err as Error).message).toMatch(/^exists s3:\/\/bucket\/p\/a\.json: \w+ \(HTTP 403\)/);
  });
});

describe('a local store that cannot be written', () => {
  it('is a permission error: E_STORE_ACCESS naming the store, not a retryable failure', async () => {
    // /sys refuses new entries even to root (EPERM); elsewhere a non-root user gets EACCES.
    const store = openStore('/sys/dreamsweep-store-test');
    const err = await store.put('units/a/result.json', '{}').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe('E_STORE_ACCESS');
    expect((err as Error).message).toMatch(/^put file:\/\/\/sys\/dreamsweep-store-test\/units\/a\/result\.json: (permission denied|the filesystem is read-only)/);
    expect(outageReason(err)).toBeUndefined();
  });
});
