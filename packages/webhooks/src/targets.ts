import { lookup } from 'node:dns/promises';
import type { Agent as HttpAgent } from 'node:http';
import { isIP } from 'node:net';
import { LabelqError } from '@labelq/errors';
import ipaddr from 'ipaddr.js';
import { Agent as PlainHttpAgent } from 'node:http';
import { Agent as PlainHttpsAgent } from 'node:https';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';

/** WEBHOOK_ALLOWED_HOSTS, parsed: host names (any port), host:port pairs, and address ranges. */
export interface AllowedTargets {
  /** Lower-case host names (or IP literals) allowed on any port. */
  hosts: ReadonlySet<string>;
  /** `host:port` pairs, lower-case. */
  hostPorts: ReadonlySet<string>;
  /** CIDRs (a bare IP is a /32 or /128), checked against the connected address. */
  cidrs: readonly string[];
}

/** Parses the entries of WEBHOOK_ALLOWED_HOSTS; a bad CIDR is `config_invalid`. */
export function parseAllowedTargets(entries: readonly string[]): AllowedTargets {
  const hosts = new Set<string>();
  const hostPorts = new Set<string>();
  const cidrs: string[] = [];
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry.includes('/')) {
      try {
        ipaddr.parseCIDR(entry);
      } catch {
        throw new LabelqError('config_invalid', `WEBHOOK_ALLOWED_HOSTS: "${raw}" is not a valid CIDR`);
      }
      cidrs.push(entry);
      continue;
    }
    const bare = entry.replace(/^\[|\]$/g, '');
    if (isIP(bare) !== 0) {
      hosts.add(bare);
      cidrs.push(bare);
      continue;
    }
    const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(entry);
    if (m) hostPorts.add(`${m[1]!.replace(/^\[|\]$/g, '')}:${m[2]}`);
    else hosts.add(entry);
  }
  return { hosts, hostPorts, cidrs };
}

function defaultPort(url: URL): string {
  return url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
}

/** The URL's host without IPv6 brackets, lower-case. */
function hostOf(url: URL): string {
  return url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
}

/** True when the URL's host (and port) is named in the allow-list: it may then reach any address. */
export function isAllowedHost(url: URL, allowed: AllowedTargets): boolean {
  const host = hostOf(url);
  return allowed.hosts.has(host) || allowed.hostPorts.has(`${host}:${defaultPort(url)}`);
}

/** True when `address` may be connected to: a public unicast address, or inside an allowed CIDR. */
export function isPermittedAddress(address: string, allowed: AllowedTargets): boolean {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address);
  } catch {
    return false;
  }
  for (const cidr of allowed.cidrs) {
    try {
      const range = cidr.includes('/') ? ipaddr.parseCIDR(cidr) : undefined;
      if (range ? parsed.kind() === range[0].kind() && parsed.match(range) : address === cidr) return true;
    } catch {
      // validated at parse time
    }
  }
  // The same rule as request-filtering-agent: anything but ordinary unicast (loopback, private, link-local
  // with the 169.254.169.254 metadata service, CGNAT, unspecified, multicast, IPv4-mapped...) is refused.
  return parsed.range() === 'unicast';
}

/**
 * A failed DNS lookup of a webhook host: the name does not exist (NXDOMAIN, no address: the URL is wrong, 400)
 * or the resolver could not answer now (EAI_AGAIN, a timeout, refused: a retryable 503, so a DNS hiccup does not
 * make a client treat its correct URL as invalid).
 */
export function lookupFailureCode(errno: string): 'webhook_url_invalid' | 'webhook_host_lookup_failed' {
  return errno === 'ENOTFOUND' || errno === 'ENODATA' ? 'webhook_url_invalid' : 'webhook_host_lookup_failed';
}

/**
 * Checks a webhook or callback URL when it is registered: http(s) only, no credentials, a host, and, unless
 * the host is allow-listed, every address it resolves to public (`webhook_url_forbidden`). This only gives an
 * early, clear 400: the delivery agent checks the address again at connect time, so a name that later
 * resolves elsewhere (DNS rebinding) is still refused.
 */
export async function checkWebhookUrl(raw: string, allowed: AllowedTargets): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new LabelqError('webhook_url_invalid', `"${raw.slice(0, 200)}" is not an absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new LabelqError('webhook_url_invalid', `Webhook URLs must be http or https, not ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new LabelqError(
      'webhook_url_invalid',
      'Webhook URLs must not carry credentials (the signature authenticates us)',
    );
  }
  if (url.hash !== '') throw new LabelqError('webhook_url_invalid', 'Webhook URLs must not have a #fragment');
  const host = hostOf(url);
  if (host === '') throw new LabelqError('webhook_url_invalid', 'The webhook URL has no host');
  if (isAllowedHost(url, allowed)) return url;
  let addresses: string[];
  if (isIP(host) !== 0) addresses = [host];
  else {
    try {
      addresses = (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? 'lookup failed';
      const code = lookupFailureCode(reason);
      throw new LabelqError(
        code,
        code === 'webhook_url_invalid'
          ? `The webhook host "${host}" does not resolve`
          : `The webhook host "${host}" could not be looked up now (${reason}); try again`,
        { details: { host, reason } },
      );
    }
  }
  const refused = addresses.filter((a) => !isPermittedAddress(a, allowed));
  if (refused.length > 0) {
    throw new LabelqError(
      'webhook_url_forbidden',
      `The webhook host "${host}" resolves to ${refused.join(', ')}: loopback, private, link-local and ` +
        'metadata addresses are refused (an operator may allow hosts with WEBHOOK_ALLOWED_HOSTS)',
      { details: { host, addresses: refused } },
    );
  }
  return url;
}

/** The HTTP agents deliveries use: filtering ones by default, plain ones for allow-listed host names. */
export interface DeliveryAgents {
  for(url: URL): HttpAgent;
  destroy(): void;
}

/**
 * Agents that check the connected address (request-filtering-agent: at connect time, after DNS), keeping
 * connections alive between deliveries to the same receiver.
 */
export function createDeliveryAgents(allowed: AllowedTargets): DeliveryAgents {
  const filter = {
    allowPrivateIPAddress: false,
    allowMetaIPAddress: false,
    allowIPAddressList: [...allowed.cidrs],
  };
  const common = { keepAlive: true, maxSockets: 64 };
  const filtered = {
    http: new RequestFilteringHttpAgent({ ...common, ...filter }),
    https: new RequestFilteringHttpsAgent({ ...common, ...filter }),
  };
  const open = { http: new PlainHttpAgent(common), https: new PlainHttpsAgent(common) };
  return {
    for(url) {
      const set = isAllowedHost(url, allowed) ? open : filtered;
      return url.protocol === 'https:' ? set.https : set.http;
    },
    destroy() {
      for (const a of [filtered.http, filtered.https, open.http, open.https]) a.destroy();
    },
  };
}
