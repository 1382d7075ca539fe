// The artifact store as activities see it: an outage (S3 refusing connections, timing out, answering 5xx)
// is waited out inside the activity, heartbeating what it waits for, up to a deadline, so a server
// restart spends none of the unit's retry attempts (those are for real failures). A permanent error (a
// UserError: wrong credentials, no bucket, no permission) is thrown at once. A store that refuses every
// connection and has not answered this process once is no outage but a wrong address: after a short grace it
// fails with a UserError too. A call that hangs (a frozen server, until the S3 client's idle deadline) is
// shown as waited for while it hangs, and heartbeats, so it spends no attempt.
import { Context } from '@temporalio/activity';
import { isUserError, UserError } from '../core/errors.js';
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
/** Failures to connect at all: a store that only ever answers with these may be a wrong address. */
const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);
const SDK_TRANSIENT = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'SlowDown', 'ServiceUnavailable', 'InternalError', 'ThrottlingException']);

/** Why the call failed, if it is an outage worth waiting out; undefined for anything else. */
export function outageReason(e: unknown): string | undefined {
  if (isUserError(e)) return undefined; // the store's verdict: permanent
  type Failure = { code?: unknown; name?: string; cause?: unknown; $metadata?: { httpStatusCode?: number } };
  let cur = e as Failure | undefined;
  for (let depth = 0; cur && typeof cur === 'object' && depth < 8; cur = cur.cause as Failure | undefined, depth++) {
    if (typeof cur.code === 'string' && NET_CODES.has(cur.code)) return cur.code;
    // Happy eyeballs: an AggregateError carries the per-address errors.
    const inner = (cur as { errors?: unknown[] }).errors?.find((x) => NET_CODES.has(String((x as Failure)?.code)));
    if (inner) return String((inner as Failure).code);
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
  /** The clock (tests move it with `sleep`). */
  now?: () => number;
  /**
   * How long a store that has not answered this process once may refuse connections before it is taken for a
   * wrong address (UserError E_STORE_UNREACHABLE, not retried) rather than an outage (default 30 s).
   */
  neverAnsweredWaitMs?: number;
  /** A call running this long is reported through `onWait` every second until it ends (default 10 s): a hung server shows, and heartbeats. */
  slowAfterMs?: number;
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
  const now = opts.now ?? Date.now;
  const neverAnsweredWaitMs = Math.min(opts.neverAnsweredWaitMs ?? 30_000, opts.deadlineMs);
  const slowAfterMs = opts.slowAfterMs ?? 10_000;
  // Whether the store has answered this process once (anything but a failure to connect).
  let answered = false;

  /** The call, reported as waited for while it runs past `slowAfterMs` (a frozen server), heartbeating. */
  const watched = async <T>(call: () => Promise<T>): Promise<{ ok: true; result: T; slow: boolean } | { ok: false; error: unknown; slow: boolean }> => {
    const started = now();
    let slow = false;
    const timer = setInterval(
      () => {
        const s = Math.round((now() - started) / 1000);
        if (now() - started < slowAfterMs) return;
        opts.onWait?.(`the store ${store.uri} (a call unfinished after ${s}s)`, !slow);
        slow = true;
      },
      Math.min(1_000, Math.max(10, slowAfterMs)),
    );
    try {
      const result = await call();
      return { ok: true, result, slow };
    } catch (error) {
      return { ok: false, error, slow };
    } finally {
      clearInterval(timer);
    }
  };

  const patiently = async <T>(call: () => Promise<T>): Promise<T> => {
    const started = now();
    let delay = opts.initialDelayMs ?? 500;
    for (let waited = false; ; waited = true) {
      const outcome = await watched(call);
      if (outcome.ok) {
        answered = true;
        if (waited || outcome.slow) opts.onRecovered?.();
        return outcome.result;
      }
      const e = outcome.error;
      if (outcome.slow) opts.onRecovered?.();
      const reason = outageReason(e);
      if (!reason || !CONNECT_CODES.has(reason)) answered = true; // the server said something
      if (!reason) throw e;
      const elapsed = now() - started;
      if (!answered && CONNECT_CODES.has(reason) && elapsed + delay > neverAnsweredWaitMs) {
        throw new UserError(
          'E_STORE_UNREACHABLE',
          `the store ${store.uri} refused every connection for ${Math.round(elapsed / 1000)}s (${reason}) and has not answered this worker once: ` +
            'check the storage endpoint (storage.endpoint, AWS_ENDPOINT_URL) and that the server runs',
          { cause: e },
        );
      }
      if (elapsed + delay > opts.deadlineMs) throw e;
      const what = `the store ${store.uri} (${reason}), for ${Math.round(elapsed / 1000)}s of at most ${Math.round(opts.deadlineMs / 1000)}s`;
      // In one-second slices: heartbeats must keep coming within the sweep's heartbeat timeout.
      for (let slept = 0; slept < delay; slept += 1_000) {
        opts.onWait?.(what, slept === 0);
        await sleep(Math.min(1_000, delay - slept));
      }
      delay = Math.min(delay * 2, 15_000);
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
