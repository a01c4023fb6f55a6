// Drop rules that log: with a drop log group, every drop of the table (a Deny rule, a
// tier's default deny, a fail-closed endpoint) logs to it with a prefix naming the kind,
// the direction and the endpoint; without one, nothing changes.

import { describe, expect, it } from 'vitest';

import {
  compileEndpointNft,
  dropLogPrefix,
  endpointHash,
  endpointStem,
  failClosedEndpointNft,
  identityAddresses,
  NftablesNameError,
  parseDropLogPrefix,
  type EndpointNft,
} from '@twill/policy-engine';

import { indexWith, scriptOf } from './cluster.js';
import { CALICO, KUBERNETES } from './policies.js';

const ruleLines = (script: string, chain: string): string[] =>
  script.split('\n').filter((l) => l.startsWith(`add rule inet twill ${chain} `)).map((l) => l.slice(`add rule inet twill ${chain} `.length));

describe('drop rules that log', () => {
  it('logs a Deny rule and the tier default with their kind, direction and endpoint; Log rules keep their group', () => {
    const script = scriptOf(CALICO, ['prod/db'], 9);
    const stem = endpointStem('prod/db');
    expect(ruleLines(script, `${stem}_in_t0`)).toEqual([
      'meta l4proto { 6 } log group 7',
      `ip saddr @${stem}_in_t0_s0 counter log prefix "twill:deny:ingress:${endpointHash('prod/db')}" group 9 drop`,
      `meta l4proto . th dport @${stem}_in_t0_s1 goto ${stem}_in_t1`,
      `counter log prefix "twill:isolated:ingress:${endpointHash('prod/db')}" group 9 drop`,
    ]);
    expect(ruleLines(script, `${stem}_in_t1`).at(-1)).toBe(`counter log prefix "twill:isolated:ingress:${endpointHash('prod/db')}" group 9 drop`);
  });

  it('changes nothing without a drop log group (the golden scripts stand)', () => {
    const script = scriptOf(CALICO, ['prod/db']);
    expect(script).not.toContain('log prefix');
    expect(script).toContain(' counter drop\n');
  });

  it('logs the fail-closed drops as no-entry, per direction', () => {
    const nft = failClosedEndpointNft('x/a', { dropLogGroup: 0 });
    const hash = endpointHash('x/a');
    expect([...nft.chains]).toEqual([
      [`${endpointStem('x/a')}_in`, [`counter log prefix "twill:no-entry:ingress:${hash}" group 0 drop`]],
      [`${endpointStem('x/a')}_out`, [`counter log prefix "twill:no-entry:egress:${hash}" group 0 drop`]],
    ]);
    expect([...failClosedEndpointNft('x/a').chains.values()]).toEqual([['counter drop'], ['counter drop']]);
  });

  it('compiles the same chains from a previous compilation as from nothing', () => {
    const index = indexWith(KUBERNETES);
    const identities = identityAddresses(new Map(index.ipIdentities().map((e) => [e.prefix, e.identity])), []);
    const rules = index.allEffectiveRules().find((e) => e.key === 'prod/db');
    if (rules === undefined) throw new Error('no prod/db');
    const first: EndpointNft = compileEndpointNft(rules, { identities, logGroup: 7, dropLogGroup: 3 });
    const again = compileEndpointNft(rules, { identities, logGroup: 7, dropLogGroup: 3, previous: first });
    expect(again.chains).toEqual(first.chains);
    // The unchanged sets are the same objects: an incremental update writes nothing for them.
    for (const [name, set] of again.sets) expect(set, name).toBe(first.sets.get(name));
    // Turning logging on changes the drop statements, and only them.
    const plain = compileEndpointNft(rules, { identities, logGroup: 7, previous: again });
    expect([...plain.chains.values()].flat().filter((l) => l.includes('drop'))).not.toEqual([]);
    expect([...plain.chains.values()].flat().some((l) => l.includes('log prefix'))).toBe(false);
    expect([...plain.chains.values()].flat().map((l) => l.replace(/counter log prefix "[^"]*" group 3 drop/, 'counter drop')))
      .toEqual([...first.chains.values()].flat().map((l) => l.replace(/counter log prefix "[^"]*" group 3 drop/, 'counter drop')));
  });

  it('refuses a drop log group that is not one, naming the option', () => {
    const index = indexWith(KUBERNETES);
    const rules = index.allEffectiveRules()[0];
    if (rules === undefined) throw new Error('no endpoint');
    for (const group of [-1, 65536, 1.5]) {
      expect(() => compileEndpointNft(rules, { identities: new Map(), logGroup: 7, dropLogGroup: group })).toThrow(NftablesNameError);
      expect(() => failClosedEndpointNft('x/a', { dropLogGroup: group })).toThrow(`dropLogGroup: ${group} is not an nflog group (an integer 0-65535)`);
    }
  });

  it('reads back what a prefix says; other prefixes are not drops', () => {
    const prefix = dropLogPrefix('no-entry', 'egress', 'kube-system/coredns-5d78c9869d-abcde');
    expect(prefix.length).toBeLessThanOrEqual(34);
    expect(parseDropLogPrefix(prefix)).toEqual({ kind: 'no-entry', direction: 'egress', endpointHash: endpointHash('kube-system/coredns-5d78c9869d-abcde') });
    for (const other of ['', 'twill', 'twill:allow:ingress:1a2b3c4d', 'twill:deny:in:1a2b3c4d', 'twill:deny:ingress:1A2B3C4D', 'twill:deny:ingress:1a2b3c4d ', 'IN=eth0']) {
      expect(parseDropLogPrefix(other), other).toBeUndefined();
    }
  });
});
