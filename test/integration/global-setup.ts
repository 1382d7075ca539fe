// Starts one real Temporal dev server and one real S3 server for the integration project; a failure here
// (no Go, failed build, port clash) fails every integration test loudly instead of skipping them.
import type { TestProject } from 'vitest/node';
import { sharedView, startTestServers, type SharedServers } from '../helpers/servers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    servers: SharedServers;
  }
}

export default async function setup(project: TestProject) {
  const servers = await startTestServers('shared');
  project.provide('servers', sharedView(servers));
  return async () => {
    await servers.stop();
    process.stderr.write(`integration servers stopped; logs kept in ${servers.logDir}\n`);
  };
}
