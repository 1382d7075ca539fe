// Worker-thread entry: workers do not inherit the main thread's tsx loader, so register it, then build the report.
import { register } from 'tsx/esm/api';

register();
await import('./thread-worker.ts');
