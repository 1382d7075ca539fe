// Builds the Temporal dev server, the versitygw S3 server and kustomize into the cache (all at once), or
// says where the cached ones are. `npm run servers:build`; .ci/run calls it before the tests.
import { isUserError } from '../core/errors.js';
import { ensureBinary, KUSTOMIZE, TEMPORAL, VERSITYGW } from './binaries.js';

const log = (line: string) => process.stderr.write(`${line}\n`);
try {
  const paths = await Promise.all([ensureBinary(TEMPORAL, log), ensureBinary(VERSITYGW, log), ensureBinary(KUSTOMIZE, log)]);
  for (const p of paths) log(`ready: ${p}`);
} catch (e) {
  log(isUserError(e) ? `dreamsweep: ${e.message}` : String(e));
  process.exit(isUserError(e) ? 2 : 1);
}
