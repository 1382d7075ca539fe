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
