#!/usr/bin/env node
// The dreamsweep command. Sources are TypeScript run through tsx, so there is no build step to forget.
import { register } from 'tsx/esm/api';

register();
// First, so that no library's uncaughtException/unhandledRejection handler (tfjs-wasm's rethrow) runs before ours.
const { installExitHandlers } = await import('../cli/failure.ts');
installExitHandlers();
await import('../cli/main.ts');
