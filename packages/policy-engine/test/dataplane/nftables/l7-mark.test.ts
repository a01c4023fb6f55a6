// An Allow with L7 rules and the proxy's mark: with `l7Mark` it allows only packets that
// went through the L7 proxy (they carry the mark), so a connection around the proxy is
// not let through by it; without `l7Mark` the generator allows it at L3/L4, as before.

import { describe, expect, it } from 'vitest';

import { compileEndpointNft, endpointStem, identityAddresses, l7MarkMatch, NftablesNameError, type L7Mark } from '@twill/policy-engine';

import { DB_HTTP_POLICY } from '../l7-policies.js';
import { indexWith } from './cluster.js';

/** db takes HTTP GETs from web on 8080 (L7) and anything from tool on 9000 (L4 only). */
const POLICY = DB_HTTP_POLICY;

// The redirect's mark on the client's packets and the proxy's on its own connections (Cilium's values).
const MARK: L7Mark = { mask: 0xf00, values: [0xa00, 0x200] };

function dbIngressRules(l7Mark?: L7Mark): string[] {
  const index = indexWith(POLICY);
  const identities = identityAddresses(new Map(index.ipIdentities().map((e) => [e.prefix, e.identity])), []);
  const policy = index.allEffectiveRules().find((e) => e.key === 'prod/db');
  if (policy === undefined) throw new Error('no prod/db');
  const nft = compileEndpointNft(policy, { identities, logGroup: 7, ...(l7Mark === undefined ? {} : { l7Mark }) });
  // Each set lookup written out with the set's elements, so a rule shows its ports.
  const expand = (rule: string): string => rule.replace(/@(\S+)/, (_, name: string) => `{ ${(nft.sets.get(name)?.elements ?? []).join(', ')} }`);
  return [...nft.chains.entries()].filter(([name]) => name.startsWith(`${endpointStem('prod/db')}_in_t`)).flatMap(([, rules]) => rules.map(expand));
}

describe('an Allow with L7 rules under the L7 proxy mark', () => {
  it('allows only marked packets for the L7 rule; the L4-only rule allows as before; the tier still ends in a drop', () => {
    const rules = dbIngressRules(MARK);
    const proxied = rules.filter((r) => r.endsWith('meta mark & 0x00000f00 == { 0x00000200, 0x00000a00 } return'));
    const plain = rules.filter((r) => r.endsWith(' return') && !r.includes('meta mark'));
    expect(proxied).toHaveLength(1);
    expect(proxied[0]).toMatch(/^ip saddr \. meta l4proto \. th dport \{ 10\.0\.0\.[12] \. 6 \. 8080, 10\.0\.0\.[12] \. 6 \. 8080 \} /);
    expect(plain).toEqual(['ip saddr . meta l4proto . th dport { 10.0.1.1 . 6 . 9000 } return']);
    expect(rules.at(-1)).toBe('counter drop');
  });

  it('allows at L3/L4 without the mark option: the L7 rule merges with the L4 one into one lookup', () => {
    const rules = dbIngressRules();
    expect(rules.some((r) => r.includes('meta mark'))).toBe(false);
    const allows = rules.filter((r) => r.endsWith(' return'));
    expect(allows).toHaveLength(1);
    expect(allows[0]).toMatch(/8080/);
    expect(allows[0]).toMatch(/9000/);
  });

  it('refuses a mask that is not a non-zero 32-bit integer and a value outside its mask, naming the field', () => {
    expect(l7MarkMatch({ mask: 0x80000000, values: [0x80000000, 0x80000000] })).toBe('meta mark & 0x80000000 == 0x80000000');
    for (const [mark, path] of [
      [{ mask: 0, values: [0] }, 'l7Mark.mask'],
      [{ mask: 2 ** 32, values: [0] }, 'l7Mark.mask'],
      [{ mask: 1.5, values: [1] }, 'l7Mark.mask'],
      [{ mask: 0xf00, values: [] }, 'l7Mark.values'],
      [{ mask: 0x200, values: [0x200, 0x300] }, 'l7Mark.values[1]'],
      [{ mask: 0xff, values: [-1] }, 'l7Mark.values[0]'],
    ] as const) {
      expect(() => dbIngressRules(mark), JSON.stringify(mark)).toThrow(expect.objectContaining({ name: NftablesNameError.name, path }));
    }
  });
});
