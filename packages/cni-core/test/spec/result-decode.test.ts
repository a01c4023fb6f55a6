// Malformed results: each is rejected with its code and a message naming the field.
import { describe, expect, it } from 'vitest';

import { CniError } from '../../src/errors.js';
import { decodeResult } from '../../src/spec/result.js';

interface BadResult {
  readonly name: string;
  readonly version: string;
  readonly input: unknown;
  readonly code: number;
  readonly msg: string;
}

const iface = { name: 'eth0', sandbox: '/var/run/netns/blue' };

const BAD_RESULTS: readonly BadResult[] = [
  { name: 'not JSON', version: '1.0.0', input: '{"ips": [', code: 6, msg: 'result: invalid JSON' },
  { name: 'not UTF-8', version: '1.0.0', input: new Uint8Array([0x7b, 0xff, 0x7d]), code: 6, msg: 'result: not valid UTF-8' },
  { name: 'an array', version: '1.0.0', input: [], code: 6, msg: 'expected an object, got an array' },
  { name: 'bad CIDR', version: '1.0.0', input: { ips: [{ address: '10.1.0.5/16' }, { address: '10.1/33' }] }, code: 6, msg: 'ips[1].address: invalid CIDR "10.1/33"' },
  { name: 'legacy short IPv4', version: '1.0.0', input: { ips: [{ address: '10.1/8' }] }, code: 6, msg: 'ips[0].address: invalid CIDR "10.1/8"' },
  { name: 'IPv6 zone', version: '1.1.0', input: { ips: [{ address: 'fe80::1%eth0/64' }] }, code: 6, msg: 'ips[0].address: invalid CIDR "fe80::1%eth0/64"' },
  { name: 'address without prefix', version: '1.0.0', input: { ips: [{ address: '10.1.0.5' }] }, code: 6, msg: 'ips[0].address: invalid CIDR "10.1.0.5"' },
  { name: 'missing address', version: '1.0.0', input: { ips: [{}] }, code: 6, msg: 'ips[0].address: missing required field' },
  { name: 'gateway of the other family', version: '1.0.0', input: { ips: [{ address: '10.1.0.5/16', gateway: '::1' }] }, code: 6, msg: 'ips[0].gateway: gateway "::1" is not an IPv4 address like "10.1.0.5/16"' },
  { name: 'bad gateway', version: '1.0.0', input: { ips: [{ address: '10.1.0.5/16', gateway: '10.1.0.256' }] }, code: 6, msg: 'ips[0].gateway: invalid IP address "10.1.0.256"' },
  { name: 'interface index out of range', version: '1.0.0', input: { interfaces: [iface], ips: [{ address: '10.1.0.5/16', interface: 1 }] }, code: 6, msg: 'ips[0].interface: index 1 is out of range (the result has 1 interfaces)' },
  { name: 'negative interface index', version: '1.0.0', input: { interfaces: [iface], ips: [{ address: '10.1.0.5/16', interface: -1 }] }, code: 6, msg: 'ips[0].interface: expected an integer from 0 to 4294967295, got -1' },
  { name: 'interface without name', version: '1.0.0', input: { interfaces: [{ mac: '00:11:22:33:44:55' }] }, code: 6, msg: 'interfaces[0].name: missing required field' },
  { name: 'bad MAC', version: '1.0.0', input: { interfaces: [{ name: 'eth0', mac: '00:11:22:33:44' }] }, code: 6, msg: 'interfaces[0].mac: invalid hardware address "00:11:22:33:44"' },
  { name: '0.4.0 without version', version: '0.4.0', input: { ips: [{ address: '10.1.0.5/16' }] }, code: 6, msg: 'ips[0].version: missing required field' },
  { name: '0.4.0 wrong version', version: '0.4.0', input: { ips: [{ version: '6', address: '10.1.0.5/16' }] }, code: 6, msg: 'ips[0].version: "6" does not match address "10.1.0.5/16"' },
  { name: '0.4.0 version 5', version: '0.4.0', input: { ips: [{ version: '5', address: '10.1.0.5/16' }] }, code: 6, msg: 'ips[0].version: expected "4" or "6", got "5"' },
  { name: '0.2.0 IPv6 in ip4', version: '0.2.0', input: { ip4: { ip: '2001:db8::1/64' } }, code: 6, msg: 'ip4.ip: "2001:db8::1/64" is not an IPv4 CIDR' },
  { name: '0.2.0 IPv6 route under ip4', version: '0.2.0', input: { ip4: { ip: '10.0.0.2/24', routes: [{ dst: '::/0' }] } }, code: 6, msg: 'ip4.routes[0].dst: "::/0" is not an IPv4 CIDR' },
  { name: 'route without dst', version: '1.0.0', input: { routes: [{ gw: '10.0.0.1' }] }, code: 6, msg: 'routes[0].dst: missing required field' },
  { name: 'route table not a number', version: '1.1.0', input: { routes: [{ dst: '0.0.0.0/0', table: 'main' }] }, code: 6, msg: 'routes[0].table: expected a number, got a string' },
  { name: 'route scope over a byte', version: '1.1.0', input: { routes: [{ dst: '0.0.0.0/0', scope: 256 }] }, code: 6, msg: 'routes[0].scope: expected an integer from 0 to 255, got 256' },
  { name: 'interface mtu fractional', version: '1.1.0', input: { interfaces: [{ name: 'eth0', mtu: 1500.5 }] }, code: 6, msg: 'interfaces[0].mtu: expected an integer from 0 to 4294967295, got 1500.5' },
  { name: 'dns not an object', version: '1.0.0', input: { dns: ['10.0.0.1'] }, code: 6, msg: 'dns: expected an object, got an array' },
  { name: 'nameserver not a string', version: '1.0.0', input: { dns: { nameservers: [10] } }, code: 6, msg: 'dns.nameservers[0]: expected a string, got a number' },
  { name: 'cniVersion of another family', version: '1.0.0', input: { cniVersion: '0.4.0' }, code: 1, msg: 'cniVersion: result is version "0.4.0" but "1.0.0" was expected' },
  { name: 'cniVersion not a string', version: '1.0.0', input: { cniVersion: 1 }, code: 6, msg: 'cniVersion: expected a string, got a number' },
  { name: 'requested version unknown', version: '0.5.0', input: {}, code: 1, msg: 'unsupported CNI version "0.5.0"' },
];

describe('decodeResult rejects malformed results', () => {
  it.each(BAD_RESULTS)('$name', ({ version, input, code, msg }) => {
    let error: unknown;
    try {
      decodeResult(input, version);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CniError);
    expect({ code: (error as CniError).code, msg: (error as CniError).msg }).toEqual({ code, msg });
  });

  it('prefixes paths when the result sits inside another document', () => {
    expect(() => decodeResult({ ips: [{ address: 'x' }] }, '1.0.0', { at: 'prevResult' })).toThrowError(
      'prevResult.ips[0].address: invalid CIDR "x"',
    );
  });

  it('needs a cniVersion when no version is given', () => {
    expect(() => decodeResult({ ips: [] })).toThrowError('cniVersion: missing required field');
    expect(decodeResult({ cniVersion: '0.3.1' }).cniVersion).toBe('0.3.1');
  });

  it('treats null optional fields as absent, as Go does', () => {
    expect(decodeResult({ cniVersion: '1.0.0', interfaces: null, dns: null, ips: [{ address: '::1/128', gateway: null }] })).toEqual({
      cniVersion: '1.0.0',
      ips: [{ address: '::1/128' }],
    });
  });

  it('accepts the MAC forms Go accepts', () => {
    for (const mac of ['00-11-22-33-44-55', '0011.2233.4455', '00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01']) {
      expect(() => decodeResult({ interfaces: [{ name: 'ib0', mac }] }, '1.0.0')).not.toThrow();
    }
  });
});
