// How workers and the CLI reach Temporal: address and namespace, with TLS (mTLS files) or an API key
// (Temporal Cloud) from the sweep file's `temporal` section or the worker's flags.
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { UserError } from '../core/errors.js';

export interface TemporalTarget {
  address?: string;
  namespace: string;
  tls?: { serverName?: string; serverRootCACertificate?: string; clientCert?: string; clientKey?: string };
  /** Name of an environment variable holding an API key. */
  apiKeyEnv?: string;
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch {
    throw new UserError('E_TEMPORAL_TLS', `temporal.tls.${what}: cannot read ${file}`);
  }
}

/** Options that both NativeConnection (workers) and Connection (clients) accept. */
export interface SharedConnectionOptions {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
  metadata?: Record<string, string>;
}

export async function temporalConnectionOptions(t: TemporalTarget): Promise<SharedConnectionOptions> {
  if (!t.address) throw new Error('temporalConnectionOptions: no address (start the embedded server first)');
  const opts: SharedConnectionOptions = { address: t.address };
  if (t.tls) {
    opts.tls = {
      serverNameOverride: t.tls.serverName,
      serverRootCACertificate: t.tls.serverRootCACertificate ? readPem(t.tls.serverRootCACertificate, 'serverRootCACertificate') : undefined,
      clientCertPair: t.tls.clientCert && t.tls.clientKey ? { crt: readPem(t.tls.clientCert, 'clientCert'), key: readPem(t.tls.clientKey, 'clientKey') } : undefined,
    };
  }
  if (t.apiKeyEnv) {
    const key = process.env[t.apiKeyEnv];
    if (!key) throw new UserError('E_TEMPORAL_API_KEY', `temporal.apiKeyEnv: environment variable ${t.apiKeyEnv} is not set`);
    opts.apiKey = key;
    opts.tls ??= {};
    opts.metadata = { 'temporal-namespace': t.namespace };
  }
  return opts;
}
