import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { WebhookError } from './errors.ts';

/**
 * Which URLs the gateway may call for a tenant, and the connection that calls them.
 *
 * A tenant-supplied URL must not reach the gateway's own network (server-side request forgery):
 * loopback, private and link-local ranges, cloud metadata services. The URL is checked at creation
 * and again at every delivery, after resolving its name; the connection is then made to the very
 * address that was checked (`pinnedLookup`), so a name that resolves elsewhere a moment later (DNS
 * rebinding) cannot redirect it. Redirects are never followed (see deliver.ts).
 */

export type AddressCategory =
  | 'public'
  | 'loopback'
  | 'private'
  | 'cgnat'
  | 'link_local'
  | 'metadata'
  | 'unique_local'
  | 'ipv4_mapped'
  | 'unspecified'
  | 'multicast'
  | 'reserved';

export interface AddressClass {
  address: string;
  family: 4 | 6;
  category: AddressCategory;
  /** The IPv4 address carried inside an IPv4-mapped or NAT64 IPv6 address. */
  embeddedIpv4: string | null;
}

export interface UrlPolicy {
  /** Production gateways accept https only. */
  production: boolean;
  /** Development and tests: accept private, loopback and link-local targets (never metadata, multicast, unspecified). */
  allowPrivateNetworks: boolean;
}

export const MAX_URL_LENGTH = 2048;

type Range = readonly [base: bigint, prefix: number, category: AddressCategory];

const v4 = (text: string): bigint => text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);

/** Most specific first: the first match wins. Sources: RFC 6890 registries, cloud provider docs. */
const IPV4_RANGES: readonly Range[] = [
  [v4('169.254.169.254'), 32, 'metadata'], // AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle instance metadata
  [v4('168.63.129.16'), 32, 'metadata'], // Azure WireServer
  [v4('100.100.100.200'), 32, 'metadata'], // Alibaba Cloud metadata
  [v4('192.0.0.192'), 32, 'metadata'], // Oracle Cloud legacy metadata
  [v4('0.0.0.0'), 8, 'unspecified'], // "this network"; 0.0.0.0 reaches the local host on Linux
  [v4('10.0.0.0'), 8, 'private'],
  [v4('100.64.0.0'), 10, 'cgnat'], // RFC 6598 shared address space
  [v4('127.0.0.0'), 8, 'loopback'],
  [v4('169.254.0.0'), 16, 'link_local'],
  [v4('172.16.0.0'), 12, 'private'],
  [v4('192.0.0.0'), 24, 'reserved'], // IETF protocol assignments
  [v4('192.0.2.0'), 24, 'reserved'], // documentation
  [v4('192.88.99.0'), 24, 'reserved'], // 6to4 relay anycast (deprecated)
  [v4('192.168.0.0'), 16, 'private'],
  [v4('198.18.0.0'), 15, 'reserved'], // benchmarking
  [v4('198.51.100.0'), 24, 'reserved'], // documentation
  [v4('203.0.113.0'), 24, 'reserved'], // documentation
  [v4('224.0.0.0'), 4, 'multicast'],
  [v4('240.0.0.0'), 4, 'reserved'], // future use and 255.255.255.255 broadcast
];

function parseIpv6(text: string): bigint {
  const [head = '', tail] = text.split('::') as [string, string | undefined];
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const n = Number(v4(piece));
        out.push(n >>> 16, n & 0xffff);
      } else out.push(parseInt(piece, 16));
    }
    return out;
  };
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

const v6 = (text: string): bigint => parseIpv6(text);

const IPV6_RANGES: readonly Range[] = [
  [v6('::'), 128, 'unspecified'],
  [v6('::1'), 128, 'loopback'],
  [v6('fd00:ec2::254'), 128, 'metadata'], // AWS instance metadata over IPv6
  [v6('::'), 96, 'reserved'], // IPv4-compatible (deprecated)
  [v6('64:ff9b:1::'), 48, 'reserved'], // local-use NAT64
  [v6('100::'), 64, 'reserved'], // discard-only
  [v6('2001:db8::'), 32, 'reserved'], // documentation
  [v6('2001::'), 23, 'reserved'], // IETF protocol assignments (Teredo, ORCHID, benchmarking)
  [v6('2002::'), 16, 'reserved'], // 6to4 (deprecated): tunnels to an arbitrary IPv4 address
  [v6('3fff::'), 20, 'reserved'], // documentation
  [v6('fc00::'), 7, 'unique_local'],
  [v6('fe80::'), 10, 'link_local'],
  [v6('fec0::'), 10, 'private'], // site-local (deprecated)
  [v6('ff00::'), 8, 'multicast'],
];

const MAPPED_PREFIX = v6('::ffff:0:0') >> 32n;
const NAT64_PREFIX = v6('64:ff9b::') >> 32n;

const inRange = (value: bigint, bits: number, [base, prefix]: Range): boolean => value >> BigInt(bits - prefix) === base >> BigInt(bits - prefix);

const ipv4Text = (n: bigint): string => [24n, 16n, 8n, 0n].map((shift) => Number((n >> shift) & 0xffn)).join('.');

function classifyIpv4(value: bigint): AddressCategory {
  return IPV4_RANGES.find((range) => inRange(value, 32, range))?.[2] ?? 'public';
}

/** Classify one IP address (dotted IPv4 or any IPv6 text form, zone id allowed); throws `invalid_url` on anything else. */
export function classifyAddress(raw: string): AddressClass {
  const address = raw.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(address);
  if (family === 4) return { address, family: 4, category: classifyIpv4(v4(address)), embeddedIpv4: null };
  if (family !== 6) throw new WebhookError('invalid_url', 'Not an IP address');
  const value = parseIpv6(address.toLowerCase());
  const low32 = value & 0xffffffffn;
  const mapped = value >> 32n === MAPPED_PREFIX;
  // IPv4-mapped (::ffff:0:0/96) and the NAT64 well-known prefix (64:ff9b::/96) reach an IPv4 host.
  if (mapped || value >> 32n === NAT64_PREFIX) {
    const embedded = ipv4Text(low32);
    const inner = classifyIpv4(low32);
    const category: AddressCategory = inner !== 'public' ? inner : mapped ? 'ipv4_mapped' : 'public';
    return { address, family: 6, category, embeddedIpv4: embedded };
  }
  const listed = IPV6_RANGES.find((range) => inRange(value, 128, range))?.[2];
  // Only 2000::/3 is allocated global unicast; the rest of the space is unassigned or special.
  const category = listed ?? (value >> 125n === 1n ? 'public' : 'reserved');
  return { address, family: 6, category, embeddedIpv4: null };
}

const NEVER: ReadonlySet<AddressCategory> = new Set(['metadata', 'multicast', 'unspecified']);

/** Public addresses always; the rest only with `allowPrivateNetworks`, except metadata, multicast and unspecified. */
export const addressAllowed = (category: AddressCategory, allowPrivateNetworks: boolean): boolean =>
  category === 'public' || (allowPrivateNetworks && !NEVER.has(category));

const ALLOWED_DEFAULT_PORTS = new Set([80, 443]);

/**
 * Everything about a URL that needs no DNS: length, scheme (https only in production), no
 * credentials, the port (80, 443 or unprivileged 1024-65535; other well-known ports are
 * services such as SSH and SMTP, not webhook receivers), and an IP literal's range. Numeric
 * host forms (`2130706433`, `0x7f.1`, `0177.0.0.1`) are normalised to dotted IPv4 by the WHATWG
 * URL parser before they are classified.
 */
export function checkUrl(raw: string, policy: UrlPolicy): URL {
  if (raw.length > MAX_URL_LENGTH) throw new WebhookError('invalid_url', `The URL is longer than ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookError('invalid_url', 'The URL is not an absolute URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && !policy.production)) {
    throw new WebhookError('scheme_not_allowed', policy.production ? 'Webhook URLs must use https' : 'Webhook URLs must use https or http');
  }
  if (url.username || url.password) throw new WebhookError('credentials_in_url', 'Webhook URLs must not carry a user name or password');
  if (!url.hostname) throw new WebhookError('invalid_url', 'The URL has no host');
  const port = url.port === '' ? null : Number(url.port);
  if (port !== null && !ALLOWED_DEFAULT_PORTS.has(port) && port < 1024) {
    throw new WebhookError('port_not_allowed', 'Webhook URLs may use port 80, 443 or 1024-65535', { port });
  }
  const host = bareHost(url);
  if (isIP(host)) assertAllowed(classifyAddress(host), policy);
  return url;
}

const bareHost = (url: URL): string => url.hostname.replace(/^\[|\]$/g, '');

function assertAllowed(address: AddressClass, policy: UrlPolicy): void {
  if (addressAllowed(address.category, policy.allowPrivateNetworks)) return;
  // The address itself stays out of the message: it would tell a tenant what internal names resolve to.
  throw new WebhookError('address_not_allowed', `The URL's host is a ${address.category.replace('_', '-')} address, which webhooks may not reach`, {
    category: address.category,
  });
}

/** Resolves a host name to every address the system resolver returns (A and AAAA). */
export type HostLookup = (hostname: string) => Promise<ReadonlyArray<{ address: string; family: number }>>;

const systemLookup: HostLookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export interface ResolvedTarget {
  url: URL;
  /** Host name as sent in `Host` and TLS SNI (no IPv6 brackets). */
  hostname: string;
  port: number;
  /** Every resolved address, each checked; the connection may only use these. */
  addresses: AddressClass[];
}

/**
 * `checkUrl`, then resolve the host and classify every address it resolves to. One refused address
 * refuses the URL: a name with a public and a private answer could be steered to either.
 */
export async function resolveTarget(raw: string | URL, policy: UrlPolicy & { lookup?: HostLookup }): Promise<ResolvedTarget> {
  const url = checkUrl(typeof raw === 'string' ? raw : raw.href, policy);
  const hostname = bareHost(url);
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  if (isIP(hostname)) return { url, hostname, port, addresses: [classifyAddress(hostname)] };
  let answers: ReadonlyArray<{ address: string; family: number }>;
  try {
    answers = await (policy.lookup ?? systemLookup)(hostname);
  } catch (error) {
    throw new WebhookError('dns_failed', `The URL's host name does not resolve (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (answers.length === 0) throw new WebhookError('dns_failed', "The URL's host name has no address");
  const addresses = answers.map((answer) => classifyAddress(answer.address));
  for (const address of addresses) assertAllowed(address, policy);
  return { url, hostname, port, addresses };
}

const familyOf = (options: LookupOptions): 0 | 4 | 6 => {
  const family = options.family as number | string | undefined;
  return family === 4 || family === 'IPv4' ? 4 : family === 6 || family === 'IPv6' ? 6 : 0;
};

/**
 * A `lookup` for http(s).request / net.connect that answers only with the addresses `resolveTarget`
 * checked, without asking DNS again. Node calls it with `all: true` when it races IPv4 and IPv6
 * (autoSelectFamily), and without for a single address; both are served.
 */
export function pinnedLookup(target: ResolvedTarget): LookupFunction {
  return (hostname, options, callback) => {
    const fail = (message: string) => {
      const error: NodeJS.ErrnoException = new Error(message);
      error.code = 'ENOTFOUND';
      process.nextTick(() => callback(error, '', 0));
    };
    if (hostname.replace(/^\[|\]$/g, '').toLowerCase() !== target.hostname.toLowerCase()) {
      fail('Connection host differs from the checked host');
      return;
    }
    const family = familyOf(options);
    const usable: LookupAddress[] = target.addresses.filter((a) => family === 0 || a.family === family).map((a) => ({ address: a.address, family: a.family }));
    const first = usable[0];
    if (!first) {
      fail(`No checked IPv${family} address for the host`);
      return;
    }
    if (options.all) process.nextTick(() => callback(null, usable));
    else process.nextTick(() => callback(null, first.address, first.family));
  };
}
