import { LabelqError } from '@labelq/errors';

/**
 * The upload bodies one API process may hold at once, in bytes. An upload reserves its size before its body is
 * read and releases it when its request ends, so the memory held by bodies (and their copies while hashed and
 * stored) is bounded however many arrive; a reservation that does not fit is refused at once (503
 * `uploads_busy`, Retry-After), never queued: a waiting upload would hold its socket and its client's timeout.
 *
 * Why not stream the body to S3 while hashing instead: an upload's key and image id derive from the sha256 of
 * its bytes, known only at the end, and a duplicate must write nothing. Streaming would need a temporary object,
 * a server-side copy and a delete per upload (three S3 requests instead of one, and a temporary object left on
 * every crash), for bodies that are at most MAX_UPLOAD_BYTES each.
 */
export class UploadBudget {
  #used = 0;

  constructor(readonly capacity: number) {}

  get used(): number {
    return this.#used;
  }

  /** Reserves `bytes` or throws `uploads_busy`; the returned release is idempotent. */
  reserve(bytes: number): () => void {
    if (this.#used + bytes > this.capacity) {
      throw new LabelqError(
        'uploads_busy',
        `The API is receiving ${this.#used} bytes of uploads (its limit is ${this.capacity}): retry shortly`,
        { details: { retryAfterSeconds: 1 } },
      );
    }
    this.#used += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#used -= bytes;
    };
  }
}
