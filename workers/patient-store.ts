// The artifact store as activities see it: an outage (S3 refusing connections, timing out, answering 5xx)
// is waited out inside the activity, heartbeating what it waits for, up to a deadline, so a server
// restart spends none of the unit's retry attempts (those are for real failures). A permanent error (a
// UserError: wrong credentials, no bucket, no permission) is thrown at once.
import { Context } from '@temporalio/activity';
import { isUserError } from '../core/errors.js';
import type { ArtifactStore } from '../core/store/index.js';

/** How long one store call may wait for the store to come back: `dreamsweep worker --outage-wait`. */
export const DEFAULT_OUTAGE_WAIT_S = 600;

const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const SDK_TRANSIENT = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'SlowDown', 'ServiceUnavailable', 'InternalError', 'ThrottlingException']);

/** Why the call failed, if it is an outage worth waiting out; undefined for anything else. */
export function outageReason(e: unknown): string | undefined {
  if (isUserError(e)) return undefined; // the store's verdict: permanent
  type Failure = { code?: unknown; name?: string; cause?: unknown; $metadata?: { httpStatusCode?: number } };
  let cur = e as Failure | undefined;
  for (let depth = 0; cur && typeof cur === 'object' && depth < 8; cur = cur.cause as Failure | undefined, depth++) {
    if (typeof cur.code === 'string' && NET_CODES.has(cur.code)) return cur.code;
    if (cur.name && SDK_TRANSIENT.has(cur.name)) return cur.name;
    const status = cur.$metadata?.httpStatusCode;
    if (status !== undefined && status >= 500) return `HTTP ${status}`;
  }
  return undefined;
}

export interface PatienceOptions {
  /** Give up (throw the last error) after waiting this long for one call. */
  deadlineMs: number;
  /** First pause between tries; doubles up to 15 s. */
  initialDelayMs?: number;
  /** Told each time a call waits, and every second while it does (an activity heartbeats it). */
  onWait?: (waitingFor: string, firstOfTry: boolean) => void;
  /** Told when a call that waited succeeds (the activity's heartbeat stops saying it waits). */
  onRecovered?: () => void;
  sleep?: (ms: number) => Promise<void>;
}

/** Heartbeats what an activity waits for (undefined: nothing any more), for `sweep status`; a no-op outside an activity. */
export function heartbeatWaiting(waitingFor: string | undefined): void {
  try {
    Context.current().heartbeat(waitingFor === undefined ? { recovered: true } : { waitingFor });
  } catch {
    // not in an activity
  }
}

export function patientStore(store: ArtifactStore, opts: PatienceOptions): ArtifactStore {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const patiently = async <T>(call: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    let delay = opts.initialDelayMs ?? 500;
    for (let waited = false; ; waited = true) {
      try {
        const result = await call();
        if (waited) opts.onRecovered?.();
        return result;
      } catch (e) {
        const reason = outageReason(e);
        if (!reason || Date.now() - started + delay > opts.deadlineMs) throw e;
        const what = `the store ${store.uri} (${reason}), for ${Math.round((Date.now() - started) / 1000)}s of at most ${Math.round(opts.deadlineMs / 1000)}s`;
        // In one-second slices: heartbeats must keep coming within the sweep's heartbeat timeout.
        for (let waited = 0; waited < delay; waited += 1_000) {
          opts.onWait?.(what, waited === 0);
          await sleep(Math.min(1_000, delay - waited));
        }
        delay = Math.min(delay * 2, 15_000);
      }
    }
  };
  return {
    uri: store.uri,
    get: (key) => patiently(() => store.get(key)),
    put: (key, body, meta) => patiently(() => store.put(key, body, meta)),
    exists: (key) => patiently(() => store.exists(key)),
    list: (prefix) => patiently(() => store.list(prefix)),
    delete: (key) => patiently(() => store.delete(key)),
    openRead: (key) => patiently(() => store.openRead(key)),
    putFile: (key, file) => patiently(() => store.putFile(key, file)),
  };
}
