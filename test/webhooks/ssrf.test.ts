import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { addressAllowed, checkUrl, classifyAddress, MAX_URL_LENGTH, pinnedLookup, resolveTarget, type AddressCategory } from '../../src/areas/webhooks/ssrf.ts';

const STRICT = { production: false, allowPrivateNetworks: false };
const DEV = { production: false, allowPrivateNetworks: true };
const PROD = { production: true, allowPrivateNetworks: false };

describe('classifyAddress', () => {
  const cases: Array<[string, AddressCategory]> = [
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['100.128.0.1', 'public'],
    ['169.254.169.254', 'metadata'],
    ['169.254.1.1', 'link_local'],
    ['168.63.129.16', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::', 'unspecified'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:8.8.8.8', 'ipv4_mapped'],
    ['::127.0.0.1', 'reserved'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::8.8.8.8', 'public'],
    ['fc00::1', 'unique_local'],
    ['fd12:3456:789a::1', 'unique_local'],
    ['fd00:ec2::254', 'metadata'],
    ['fe80::1', 'link_local'],
    ['fe80::1%eth0', 'link_local'],
    ['fec0::1', 'private'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['2001::1', 'reserved'],
    ['2002:7f00:1::', 'reserved'],
    ['100::1', 'reserved'],
    ['4000::1', 'reserved'],
    ['2606:4700:4700::1111', 'public'],
    ['2a00:1450:4001:81c::200e', 'public'],
  ];
  it.each(cases)('%s is %s', (address, category) => {
    expect(classifyAddress(address).category).toBe(category);
  });

  it('reports the IPv4 address inside a mapped one', () => {
    expect(classifyAddress('::ffff:7f00:1')).toMatchObject({ family: 6, embeddedIpv4: '127.0.0.1' });
  });

  it('refuses text that is not an address', () => {
    expect(() => classifyAddress('example.com')).toThrow(expect.objectContaining({ code: 'invalid_url' }));
  });

  it('private networks allow loopback and private ranges, never metadata, multicast or unspecified', () => {
    for (const c of ['loopback', 'private', 'cgnat', 'link_local', 'unique_local', 'reserved', 'ipv4_mapped'] as const) {
      expect([c, addressAllowed(c, false), addressAllowed(c, true)]).toEqual([c, false, true]);
    }
    for (const c of ['metadata', 'multicast', 'unspecified'] as const) expect([c, addressAllowed(c, true)]).toEqual([c, false]);
    expect(addressAllowed('public', false)).toBe(true);
  });
});

describe('checkUrl', () => {
  const refused: Array<[string, string, typeof STRICT]> = [
    ['http://127.0.0.1/', 'address_not_allowed', STRICT],
    ['http://10.1.2.3:8080/hook', 'address_not_allowed', STRICT],
    ['http://169.254.169.254/latest/meta-data/', 'address_not_allowed', STRICT],
    ['http://169.254.169.254/latest/meta-data/', 'address_not_allowed', DEV],
    ['http://[::1]/', 'address_not_allowed', STRICT],
    ['http://[::ffff:127.0.0.1]/', 'address_not_allowed', STRICT],
    ['http://[0:0:0:0:0:ffff:7f00:1]/', 'address_not_allowed', STRICT],
    ['http://2130706433/', 'address_not_allowed', STRICT],
    ['http://0x7f.1/', 'address_not_allowed', STRICT],
    ['http://0x7f000001/', 'address_not_allowed', STRICT],
    ['http://0177.0.0.1/', 'address_not_allowed', STRICT],
    ['http://127.1/', 'address_not_allowed', STRICT],
    ['http://0/', 'address_not_allowed', DEV],
    ['http://[fd00:ec2::254]/', 'address_not_allowed', DEV],
    ['http://100.64.0.1/', 'address_not_allowed', STRICT],
    ['http://example.com/', 'scheme_not_allowed', PROD],
    ['ftp://example.com/', 'scheme_not_allowed', STRICT],
    ['file:///etc/passwd', 'scheme_not_allowed', STRICT],
    ['gopher://example.com/', 'scheme_not_allowed', STRICT],
    ['https://user:pass@example.com/', 'credentials_in_url', PROD],
    ['https://user@example.com/', 'credentials_in_url', PROD],
    ['https://example.com:22/', 'port_not_allowed', PROD],
    ['https://example.com:25/', 'port_not_allowed', PROD],
    ['https://example.com:1023/', 'port_not_allowed', PROD],
    ['not a url', 'invalid_url', STRICT],
    ['/relative/path', 'invalid_url', STRICT],
    [`https://example.com/${'a'.repeat(MAX_URL_LENGTH)}`, 'invalid_url', PROD],
  ];
  it.each(refused)('refuses %s with %s', (url, code, policy) => {
    expect(() => checkUrl(url, policy)).toThrow(expect.objectContaining({ code }));
  });

  const accepted: Array<[string, typeof STRICT]> = [
    ['https://hooks.example.com/paybond', PROD],
    ['https://hooks.example.com:8443/paybond?x=1', PROD],
    ['https://hooks.example.com:443/', PROD],
    ['http://hooks.example.com:80/', STRICT],
    ['https://8.8.8.8/', PROD],
    ['https://[2606:4700:4700::1111]/', PROD],
    ['http://127.0.0.1:8080/', DEV],
    ['http://[::1]:8080/', DEV],
  ];
  it.each(accepted)('accepts %s', (url, policy) => {
    expect(checkUrl(url, policy)).toBeInstanceOf(URL);
  });

  it('names the address class but never the address in its message', () => {
    try {
      checkUrl('http://10.20.30.40/', STRICT);
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain('10.20.30.40');
      expect(error).toMatchObject({ code: 'address_not_allowed', details: { category: 'private' } });
    }
  });
});

describe('resolveTarget', () => {
  const answers = (...addresses: string[]) => async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

  it('resolves localhost through the system resolver and refuses it', async () => {
    await expect(resolveTarget('http://localhost:8080/', STRICT)).rejects.toMatchObject({ code: 'address_not_allowed', details: { category: 'loopback' } });
    const allowed = await resolveTarget('http://localhost:8080/', DEV);
    expect(allowed.addresses.length).toBeGreaterThan(0);
    expect(allowed.addresses.every((a) => a.category === 'loopback')).toBe(true);
  });

  it('refuses a name if any of its addresses is refused', async () => {
    await expect(resolveTarget('https://hooks.example.com/', { ...PROD, lookup: answers('93.184.215.14', '10.0.0.1') })).rejects.toMatchObject({
      code: 'address_not_allowed',
    });
    await expect(resolveTarget('https://hooks.example.com/', { ...PROD, lookup: answers('2606:4700::1', '::ffff:169.254.169.254') })).rejects.toMatchObject({
      details: { category: 'metadata' },
    });
  });

  it('accepts a name with only public addresses and keeps all of them', async () => {
    const target = await resolveTarget('https://hooks.example.com:8443/p', { ...PROD, lookup: answers('93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c') });
    expect(target).toMatchObject({ hostname: 'hooks.example.com', port: 8443 });
    expect(target.addresses.map((a) => a.address)).toEqual(['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c']);
  });

  it('does not resolve IP literals', async () => {
    let called = false;
    const target = await resolveTarget('https://8.8.8.8/', {
      ...PROD,
      lookup: async () => {
        called = true;
        return [];
      },
    });
    expect(called).toBe(false);
    expect(target).toMatchObject({ hostname: '8.8.8.8', port: 443 });
  });

  it('a name that does not resolve is dns_failed', async () => {
    const failing = async () => {
      throw Object.assign(new Error('nope'), { code: 'ENOTFOUND' });
    };
    await expect(resolveTarget('https://nowhere.example.com/', { ...PROD, lookup: failing })).rejects.toMatchObject({ code: 'dns_failed' });
    await expect(resolveTarget('https://empty.example.com/', { ...PROD, lookup: answers() })).rejects.toMatchObject({ code: 'dns_failed' });
  });
});

describe('pinnedLookup', () => {
  const call = (lookup: ReturnType<typeof pinnedLookup>, host: string, options: Record<string, unknown>) =>
    new Promise<{ error: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }>((resolve) =>
      lookup(host, options, (error, address, family) => resolve({ error, address, family })),
    );

  it('answers only the checked addresses, single or all, filtered by family', async () => {
    const target = await resolveTarget('https://hooks.example.com/', {
      ...PROD,
      lookup: async () => [
        { address: '93.184.215.14', family: 4 },
        { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
      ],
    });
    const lookup = pinnedLookup(target);
    expect(await call(lookup, 'hooks.example.com', {})).toEqual({ error: null, address: '93.184.215.14', family: 4 });
    expect(await call(lookup, 'hooks.example.com', { family: 6 })).toEqual({ error: null, address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 });
    expect((await call(lookup, 'HOOKS.example.com', { all: true })).address).toEqual([
      { address: '93.184.215.14', family: 4 },
      { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
    ]);
  });

  it('fails for another host name or a family it has no checked address for', async () => {
    const target = await resolveTarget('https://hooks.example.com/', { ...PROD, lookup: async () => [{ address: '93.184.215.14', family: 4 }] });
    const lookup = pinnedLookup(target);
    expect((await call(lookup, 'evil.example.com', {})).error?.code).toBe('ENOTFOUND');
    expect((await call(lookup, 'hooks.example.com', { family: 6 })).error?.code).toBe('ENOTFOUND');
  });
});
