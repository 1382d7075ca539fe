// A UserError thrown by an activity crosses Temporal as a non-retryable ApplicationFailure of type
// 'UserError' that keeps its code (the first detail), so the CLI can show the user's mistake with its code
// instead of "Activity task failed".
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptors } from '@temporalio/worker';
import { isUserError } from '../core/errors.js';

export const USER_ERROR_TYPE = 'UserError';

export function userErrorInterceptors(): ActivityInterceptors {
  return {
    inbound: {
      async execute(input, next) {
        try {
          return await next(input);
        } catch (e) {
          if (!isUserError(e)) throw e;
          throw ApplicationFailure.create({ type: USER_ERROR_TYPE, message: e.message, nonRetryable: true, details: [{ code: e.code }] });
        }
      },
    },
  };
}

/** The deepest cause of a Temporal failure (workflow, then activity, then the error itself), with its code if a UserError. */
export function rootCause(e: unknown): { message: string; code?: string } {
  let cur = e as { cause?: unknown; message?: string } | undefined;
  while (cur && typeof cur === 'object' && cur.cause && typeof cur.cause === 'object') cur = cur.cause as typeof cur;
  const message = cur?.message ?? String(e);
  if (cur instanceof ApplicationFailure && cur.type === USER_ERROR_TYPE) {
    const code = (cur.details?.[0] as { code?: unknown } | undefined)?.code;
    return { message, code: typeof code === 'string' ? code : undefined };
  }
  return { message };
}
