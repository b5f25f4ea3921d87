import type { Readable } from 'node:stream';
import { LabelqError } from '@labelq/errors';

/**
 * Reads a byte stream into one buffer, failing with `payload_too_large` as soon as it passes `maxBytes`, so
 * an oversized upload is refused while streaming instead of after buffering all of it. The whole (accepted)
 * image is kept in memory because its id and key derive from a hash of its bytes. The stream is left as it is
 * when the limit is passed, not destroyed: destroying a request's body destroys its connection before the 413
 * can be sent (the answer closes the connection in stages instead: http/early-answer.ts).
 */
export async function readLimited(stream: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream.iterator({ destroyOnReturn: false })) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array | string);
    total += buf.length;
    if (total > maxBytes) {
      throw new LabelqError('payload_too_large', `The upload exceeds the limit of ${maxBytes} bytes`, {
        details: { maxBytes },
      });
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks, total);
}
