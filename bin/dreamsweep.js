#!/usr/bin/env node
// The dreamsweep command. Sources are TypeScript run through tsx, so there is no build step to forget.
import { register } from 'tsx/esm/api';

register();
// First, so that no library's uncaughtException/unhandledRejection handler (tfjs-wasm's rethrow) runs before ours.
const { installExitHandlers } = await import('../cli/failure.ts');
installExitHandlers();
const { runCli } = await import('../cli/main.ts');
const code = await runCli(process.argv.slice(2));
// A failed command may leave handles open (servers, workers, sockets): it ends here, with its code.
if (code !== 0) process.exit(code);
