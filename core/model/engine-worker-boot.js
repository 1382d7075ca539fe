// Worker-thread entry: workers do not inherit the main thread's tsx loader, so register it, then load the engine.
import { register } from 'tsx/esm/api';

register();
await import('./engine-worker.ts');
