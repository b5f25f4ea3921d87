import type { FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { LabelqError } from '@labelq/errors';
import { continueBody } from '../http/early-answer.ts';
import { readLimited } from './read-limited.ts';

/** An upload as received: its bytes and the option fields that came with it. */
export interface ReceivedUpload {
  bytes: Buffer;
  /** Multipart text fields (repeated fields become arrays); empty for a raw body. */
  fields: Record<string, string | string[]>;
}

/** Multipart fields that may accompany the file. */
const OPTION_FIELDS = new Set(['models', 'purpose', 'metadata']);

function addField(fields: ReceivedUpload['fields'], name: string, value: string): void {
  const prev = fields[name];
  fields[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
}

async function receiveMultipart(request: FastifyRequest, maxBytes: number): Promise<ReceivedUpload> {
  const fields: ReceivedUpload['fields'] = {};
  let bytes: Buffer | undefined;
  continueBody(request);
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      if (part.fieldname !== 'file' || bytes !== undefined) {
        part.file.resume(); // drain it so the parser can go on to report the error cleanly
        throw new LabelqError(
          'invalid_request',
          part.fieldname !== 'file'
            ? `Unexpected file field "${part.fieldname}": send the image in the field "file"`
            : 'Send exactly one image per request',
        );
      }
      bytes = await readLimited(part.file, maxBytes);
    } else {
      if (!OPTION_FIELDS.has(part.fieldname)) {
        throw new LabelqError(
          'invalid_request',
          `Unknown field "${part.fieldname}"; allowed: file, ${[...OPTION_FIELDS].join(', ')}`,
        );
      }
      if (part.valueTruncated) {
        throw new LabelqError('invalid_request', `Field "${part.fieldname}" is too long`);
      }
      addField(fields, part.fieldname, String(part.value));
    }
  }
  if (bytes === undefined) {
    throw new LabelqError('invalid_request', 'The multipart body has no "file" field holding the image');
  }
  return { bytes, fields };
}

/**
 * Receives one image from a multipart form (field `file`) or a raw `image/*` body, refusing more than
 * `maxBytes` while it streams (413 `payload_too_large`; a declared Content-Length over the limit is refused
 * before reading anything). A client that sent `Expect: 100-continue` is asked for the body only here, once
 * the route has decided to read it.
 */
export async function receiveUpload(request: FastifyRequest, maxBytes: number): Promise<ReceivedUpload> {
  const declared = Number(request.headers['content-length']);
  if (request.isMultipart()) return receiveMultipart(request, maxBytes);
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new LabelqError('payload_too_large', `The upload exceeds the limit of ${maxBytes} bytes`, {
      details: { maxBytes },
    });
  }
  const body = request.body as Readable | undefined;
  if (body === undefined || body === null) return { bytes: Buffer.alloc(0), fields: {} };
  if (typeof (body as Partial<Readable>).iterator !== 'function') {
    // A body of another media type (JSON, text): the request's Content-Type is wrong, not an image format.
    throw new LabelqError(
      'unsupported_media_type',
      'POST /v1/images takes multipart/form-data or a raw image/* (or application/octet-stream) body',
    );
  }
  continueBody(request);
  return { bytes: await readLimited(body, maxBytes), fields: {} };
}
