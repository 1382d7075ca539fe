// Failure types the sweep workflow tells apart. Plain constants: workflow code and activities both import this.

/**
 * A unit stopped because its worker shut down (scale-down, drain, upgrade): not the unit's fault. The
 * activity fails with this type, non-retryable, and the workflow schedules the unit afresh, so a
 * scale-down never uses up one of the unit's retry attempts; the new run resumes from the checkpoint.
 */
export const WORKER_SHUTDOWN = 'WorkerShutdown';
