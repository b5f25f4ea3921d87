import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson } from './post.ts';
import {
  checkWebhookUrl,
  createDeliveryAgents,
  isAllowedHost,
  isPermittedAddress,
  lookupFailureCode,
  parseAllowedTargets,
} from './targets.ts';

describe('isPermittedAddress (no allow-list)', () => {
  const none = parseAllowedTargets([]);
  it.each([
    ['127.0.0.1', false],
    ['127.8.9.10', false],
    ['10.0.0.1', false],
    ['172.16.5.4', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['::1', false],
    ['::', false],
    ['fe80::1', false],
    ['fd00::1', false],
    ['::ffff:127.0.0.1', false],
    ['224.0.0.1', false],
    ['8.8.8.8', true],
    ['93.184.216.34', true],
    ['2606:4700:4700::1111', true],
    ['not an ip', false],
  ])('%s -> %s', (address, permitted) => {
    expect(isPermittedAddress(address, none)).toBe(permitted);
  });
});

describe('WEBHOOK_ALLOWED_HOSTS', () => {
  const allowed = parseAllowedTargets(['receiver.internal', 'hooks.lan:8443', '10.20.0.0/16', '127.0.0.1']);
  it.each([
    ['http://receiver.internal/x', true],
    ['http://RECEIVER.internal:9999/x', true],
    ['https://hooks.lan:8443/x', true],
    ['https://hooks.lan/x', false],
    ['http://127.0.0.1:80/x', true],
    ['http://other.internal/x', false],
  ])('host of %s allowed -> %s', (url, ok) => {
    expect(isAllowedHost(new URL(url), allowed)).toBe(ok);
  });
  it.each([
    ['10.20.3.4', true],
    ['10.21.0.1', false],
    ['127.0.0.1', true],
    ['127.0.0.2', false],
  ])('address %s permitted -> %s', (address, ok) => {
    expect(isPermittedAddress(address, allowed)).toBe(ok);
  });
  it('refuses a bad CIDR as config_invalid', () => {
    expect(() => parseAllowedTargets(['10.0.0.0/99'])).toThrow(
      expect.objectContaining({ code: 'config_invalid' }),
    );
  });
});

describe('checkWebhookUrl', () => {
  const none = parseAllowedTargets([]);
  it.each([
    ['http://127.0.0.1/x', 'webhook_url_forbidden'],
    ['http://localhost:8080/x', 'webhook_url_forbidden'],
    ['http://[::ffff:169.254.169.254]/x', 'webhook_url_forbidden'],
    ['http://10.0.0.8/x', 'webhook_url_forbidden'],
    ['file:///etc/passwd', 'webhook_url_invalid'],
    ['http://a:b@8.8.8.8/x', 'webhook_url_invalid'],
    ['http://8.8.8.8/x#frag', 'webhook_url_invalid'],
    ['/relative', 'webhook_url_invalid'],
  ])('%s -> %s', async (url, code) => {
    await expect(checkWebhookUrl(url, none)).rejects.toMatchObject({ code });
  });
  it('refuses a name that does not exist as webhook_url_invalid', async () => {
    // .invalid never resolves (RFC 2606): the resolver answers NXDOMAIN at once, even air-gapped.
    await expect(checkWebhookUrl('http://no-such-host.invalid/x', none)).rejects.toMatchObject({
      code: 'webhook_url_invalid',
      details: { reason: 'ENOTFOUND' },
    });
  });
  it.each([
    ['ENOTFOUND', 'webhook_url_invalid'],
    ['ENODATA', 'webhook_url_invalid'],
    ['EAI_AGAIN', 'webhook_host_lookup_failed'],
    ['ETIMEOUT', 'webhook_host_lookup_failed'],
    ['ECONNREFUSED', 'webhook_host_lookup_failed'],
    ['lookup failed', 'webhook_host_lookup_failed'],
  ])('a lookup failing with %s -> %s', (errno, code) => {
    expect(lookupFailureCode(errno)).toBe(code);
  });
  it('accepts a public address and an allow-listed private host', async () => {
    await expect(checkWebhookUrl('https://8.8.8.8/hook', none)).resolves.toBeInstanceOf(URL);
    await expect(
      checkWebhookUrl('http://localhost:1234/x', parseAllowedTargets(['localhost:1234'])),
    ).resolves.toBeInstanceOf(URL);
  });
});

// The connect-time check: a URL that got past registration (DNS changed since: rebinding) is still refused by
// the delivery agent when it connects, before any byte is sent.
describe('delivery agents check the address at connect time', () => {
  let server: Server;
  let port: number;
  let hits = 0;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      hits++;
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it.each([['127.0.0.1'], ['localhost']])('refuses %s without an allow-list entry', async (host) => {
    const agents = createDeliveryAgents(parseAllowedTargets([]));
    const url = new URL(`http://${host}:${port}/hook`);
    const out = await postJson(url, '{}', {}, { agent: agents.for(url), timeoutMs: 2000 });
    agents.destroy();
    expect(out.ok).toBe(false);
    expect(out.error).toMatch(/not allowed/);
    expect(hits).toBe(0);
  });

  it('reaches it when allow-listed (host:port)', async () => {
    const agents = createDeliveryAgents(parseAllowedTargets([`127.0.0.1:${port}`]));
    const url = new URL(`http://127.0.0.1:${port}/hook`);
    const out = await postJson(url, '{}', {}, { agent: agents.for(url), timeoutMs: 2000 });
    agents.destroy();
    expect(out).toMatchObject({ ok: true, statusCode: 200 });
  });
});
