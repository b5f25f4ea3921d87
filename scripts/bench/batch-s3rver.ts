// Child process of `pnpm bench:batch`: an s3rver in its own process (so serving S3 does not share the event loop
// whose listing rate is measured). Prints `{"endpoint": ...}` once listening; stops on SIGTERM.
import { startS3rver } from '@labelq/dev-services';

const [dir, ...buckets] = process.argv.slice(2);
const s3 = await startS3rver({ dir: dir!, buckets });
process.stdout.write(`${JSON.stringify({ endpoint: s3.endpoint })}\n`);
process.on('SIGTERM', () => void s3.stop().then(() => process.exit(0)));
