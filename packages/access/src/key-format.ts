import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Every labelq API key starts with this, so secret scanners and people recognise one. */
export const KEY_PREFIX = 'lq_live_';

/** `lq_live_<16 hex: the key id>_<43 base64url: 256 random bits>`. */
const KEY_PATTERN = /^lq_live_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface NewKey {
  /** `key_<16 hex>`: stored, listed, logged. */
  id: string;
  /** The whole key: shown once to its creator, never stored. */
  key: string;
  /** What is stored to recognise it. */
  hash: string;
}

/**
 * The stored form of a key's secret: HMAC-SHA256 keyed with the key id. A fast hash is enough here, unlike for
 * passwords: the secret is 256 random bits, so nobody can guess it from a leaked hash however fast the hash is,
 * and slow password hashes (bcrypt, argon2) exist only to make guessing low-entropy human passwords expensive;
 * they would cost tens of milliseconds on every request. Keying with the id binds a hash to its record.
 */
export function hashSecret(id: string, secret: string): string {
  return createHmac('sha256', id).update(secret).digest('hex');
}

export function generateKey(): NewKey {
  const idPart = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const id = `key_${idPart}`;
  return { id, key: `${KEY_PREFIX}${idPart}_${secret}`, hash: hashSecret(id, secret) };
}

/** The id and secret of a well-formed key; undefined for anything else (the caller answers 401). */
export function parseKey(key: string): { id: string; secret: string } | undefined {
  const m = KEY_PATTERN.exec(key);
  return m ? { id: `key_${m[1]!}`, secret: m[2]! } : undefined;
}

/** Compares a presented secret with a stored hash in constant time. */
export function secretMatches(id: string, secret: string, storedHash: string): boolean {
  const presented = Buffer.from(hashSecret(id, secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}
