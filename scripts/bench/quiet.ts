/**
 * Drops the AWS SDK's notice about future Node versions (noise in every child's log); other warnings print.
 */
export function quietSdkNodeVersionWarning(): void {
  process.removeAllListeners('warning');
  process.on('warning', (w) => {
    if (!`${w.name} ${w.message}`.includes('NodeVersionSupportWarning')) {
      process.stderr.write(`${w.name}: ${w.message}\n`);
    }
  });
}
