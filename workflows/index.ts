// Every workflow a dreamsweep worker serves (Temporal bundles this file for its sandbox).
export { sweepWorkflow, progressQuery } from './sweep.js';
