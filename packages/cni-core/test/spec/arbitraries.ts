// fast-check generators of valid results, for the property tests.
import fc from 'fast-check';

import { type Result020 } from '../../src/spec/result-020.js';
import { type Result110 } from '../../src/spec/result-110.js';

const prefix4 = fc.integer({ min: 0, max: 32 });
const prefix6 = fc.integer({ min: 0, max: 128 });
export const cidr4 = fc.tuple(fc.ipV4(), prefix4).map(([ip, p]) => `${ip}/${p}`);
export const cidr6 = fc.tuple(fc.ipV6(), prefix6).map(([ip, p]) => `${ip}/${p}`);
const name = fc.stringMatching(/^[a-z][a-z0-9]{0,14}$/);
const mac = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 })
  .map((bytes) => bytes.map((b) => b.toString(16).padStart(2, '0')).join(':'));
const text = fc.string({ maxLength: 12 });
const optional = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined });

function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export const dns = fc
  .record({ nameservers: optional(fc.array(fc.ipV4())), domain: optional(text), search: optional(fc.array(text)), options: optional(fc.array(text)) })
  .map(compact);

const family = fc.constantFrom('4' as const, '6' as const);
const ipConfig = (interfaceCount: number) =>
  family.chain((f) =>
    fc.record({
      address: f === '4' ? cidr4 : cidr6,
      gateway: optional(f === '4' ? fc.ipV4() : fc.ipV6()),
      interface: interfaceCount > 0 ? optional(fc.integer({ min: 0, max: interfaceCount - 1 })) : fc.constant(undefined),
    }).map(compact),
  );

/** A 1.1.0 result; with `extras` false it has none of the attributes 1.1.0 added (so it fits 1.0.0). */
export function result110(extras: boolean): fc.Arbitrary<Result110> {
  const uint = extras ? optional(fc.integer({ min: 0, max: 65535 })) : fc.constant(undefined);
  const str = extras ? optional(text) : fc.constant(undefined);
  const iface = fc.record({ name, mac: optional(mac), mtu: uint, sandbox: optional(text), socketPath: str, pciID: str }).map(compact);
  const route = fc
    .record({
      dst: fc.oneof(cidr4, cidr6),
      gw: optional(fc.ipV4()),
      mtu: uint,
      advmss: uint,
      priority: uint,
      table: uint,
      scope: extras ? optional(fc.integer({ min: 0, max: 255 })) : fc.constant(undefined),
    })
    .map(compact);
  return optional(fc.array(iface, { maxLength: 3 })).chain((interfaces) =>
    fc
      .record({
        cniVersion: fc.constant('1.1.0' as const),
        interfaces: fc.constant(interfaces),
        ips: optional(fc.array(ipConfig(interfaces?.length ?? 0), { maxLength: 4 })),
        routes: optional(fc.array(route, { maxLength: 4 })),
        dns: optional(dns),
      })
      .map(compact),
  );
}

/** A 0.2.0 result whose routes sit under the configuration of their family. */
export const result020: fc.Arbitrary<Result020> = fc
  .record({
    cniVersion: fc.constantFrom('0.1.0' as const, '0.2.0' as const),
    ip4: optional(
      fc.record({ ip: cidr4, gateway: optional(fc.ipV4()), routes: optional(fc.array(fc.record({ dst: cidr4, gw: optional(fc.ipV4()) }).map(compact), { minLength: 1, maxLength: 3 })) }).map(compact),
    ),
    ip6: optional(
      fc.record({ ip: cidr6, gateway: optional(fc.ipV6()), routes: optional(fc.array(fc.record({ dst: cidr6, gw: optional(fc.ipV6()) }).map(compact), { minLength: 1, maxLength: 3 })) }).map(compact),
    ),
    dns: optional(dns),
  })
  .map(compact);
