// Starts one real Temporal dev server and one real S3 server for the integration project; a failure here
// (no Go, failed build, port clash) fails every integration test loudly instead of skipping them.
import type { TestProject } from 'vitest/node';
import { startTestServers, type SharedServers } from '../helpers/servers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    servers: SharedServers;
  }
}

export default async function setup(project: TestProject) {
  const servers = await startTestServers('shared');
  const { temporal, s3 } = servers;
  project.provide('servers', {
    temporalAddress: temporal.address,
    temporalNamespace: temporal.namespace,
    s3: { endpoint: s3.endpoint, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, region: s3.region },
    logDir: servers.logDir,
  });
  return async () => {
    await servers.stop();
    process.stderr.write(`integration servers stopped; logs kept in ${servers.logDir}\n`);
  };
}
