import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** A new Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** The three Standard Webhooks headers for one message. */
export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * Signs `body` with every secret given (the current one and, during a rotation's overlap, the previous one):
 * the signature header lists one `v1,<base64>` per secret, space-separated, as the spec allows, so receivers
 * holding either secret verify it.
 */
export function signWebhook(
  id: string,
  timestamp: Date,
  body: string,
  secrets: readonly string[],
): SignedHeaders {
  const signatures = secrets.map((s) => new Webhook(s).sign(id, timestamp, body));
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': signatures.join(' '),
  };
}
