// The project's state directory (.dreamsweep/ in the working directory, or DREAMSWEEP_STATE_DIR): the embedded
// Temporal server's files, local workers' logs, crash reports. Its own module so that the CLI's failure handler
// can name it without loading the Temporal client.
import path from 'node:path';

export function stateDir(): string {
  return path.resolve(process.env.DREAMSWEEP_STATE_DIR ?? '.dreamsweep');
}
