// Errors a user can fix (bad input, missing file) versus bugs. The CLI prints a UserError's message and
// exits 2 with no stack trace; activities turn it into a non-retryable failure.

/** A mistake the user can fix: the message says what is wrong, where, and how to fix it. */
export class UserError extends Error {
  override readonly name = 'UserError';
  /** A stable machine-readable code, e.g. `E_MODEL_MISSING_FILE`; tests assert on it, not on wording. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof Error && e.name === 'UserError' && typeof (e as UserError).code === 'string';
}

/** An error as it crosses a worker-thread boundary (structured clone drops a class and its fields). */
export type SerialisedError = { name: string; message: string; code?: string; stack?: string };

export function serialiseError(e: unknown): SerialisedError {
  const err = e as { name?: string; message?: string; code?: unknown; stack?: string };
  return { name: err?.name ?? 'Error', message: err?.message ?? String(e), ...(typeof err?.code === 'string' && { code: err.code }), ...(err?.stack && { stack: err.stack }) };
}

/** The error again on this side: a UserError keeps its class and code, anything else its name, message and stack. */
export function deserialiseError(e: SerialisedError): Error {
  if (e.name === 'UserError' && e.code) return new UserError(e.code, e.message);
  const err = new Error(e.message);
  err.name = e.name;
  if (e.stack) err.stack = e.stack;
  return err;
}
