// Compiling an endpoint again from its previous compilation: a policy that comes or goes
// among many changes only its own elements, and the result is what a compilation from
// nothing gives.

import { describe, expect, it } from 'vitest';

import {
  buildTableModel,
  compileEndpointNft,
  compileNetworkPolicy,
  endpointStem,
  identityAddresses,
  parseNetworkPolicy,
  renderDelta,
  type EndpointNft,
  type Policy,
  type PolicyIndex,
} from '@twill/policy-engine';

import { indexWith } from './cluster.js';
import { KUBERNETES } from './policies.js';

const lines = (script: string): string[] => script.split('\n').filter((l) => l !== '');

/** A policy selecting prod/db that allows one /32 on one TCP port (or, with `range`, a /24 on a port range). */
function allowFrom(name: string, source: string, port: number, range = false): Policy {
  return compileNetworkPolicy(parseNetworkPolicy({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: 'prod' },
    spec: {
      podSelector: { matchLabels: { app: 'db' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ ipBlock: { cidr: range ? `${source}/24` : `${source}/32` } }], ports: [{ port, ...(range ? { endPort: port + 100 } : {}), protocol: 'TCP' }] }],
    },
  }));
}

function compile(index: PolicyIndex, previous?: EndpointNft): EndpointNft {
  const rules = index.allEffectiveRules().find((e) => e.key === 'prod/db');
  if (rules === undefined) throw new Error('no prod/db');
  const identities = identityAddresses(new Map(index.ipIdentities().map((e) => [e.prefix, e.identity])), []);
  return compileEndpointNft(rules, { identities, logGroup: 7, ...(previous === undefined ? {} : { previous }) });
}

const model = (nft: EndpointNft) => buildTableModel([{ hostInterface: 'tw0', nft }], []);

/** Chains, and sets with their elements as sorted lists: what the kernel would hold. */
function held(nft: EndpointNft): unknown {
  return {
    chains: Object.fromEntries(nft.chains),
    sets: Object.fromEntries([...nft.sets].map(([name, set]) => [name, { type: set.type, interval: set.interval, elements: [...set.elements].sort() }])),
  };
}

describe('compileEndpointNft with the previous compilation', () => {
  const many = (index: PolicyIndex): void => {
    for (let i = 0; i < 200; i += 1) index.upsertPolicy(allowFrom(`p${i}`, `10.200.0.${i}`, 1000 + i));
  };

  it('writes only the elements of a policy that comes, then goes, and ends where a fresh compilation does', () => {
    const index = indexWith(KUBERNETES);
    many(index);
    const first = compile(index);
    const toggled = allowFrom('toggled', '10.250.0.1', 4242);
    index.upsertPolicy(toggled);
    const second = compile(index, first);
    const stem = endpointStem('prod/db');
    expect(lines(renderDelta(model(first), model(second)))).toEqual([`add element inet twill ${stem}_in_t0_s0 { 10.250.0.1 . 6 . 4242 }`]);
    expect(held(second)).toEqual(held(compile(index)));

    index.deletePolicy(toggled.ref);
    const third = compile(index, second);
    expect(lines(renderDelta(model(second), model(third)))).toEqual([`delete element inet twill ${stem}_in_t0_s0 { 10.250.0.1 . 6 . 4242 }`]);
    expect(held(third)).toEqual(held(compile(index)));
  });

  it('keeps an element that another rule still gives when one of its rules goes', () => {
    const index = indexWith(KUBERNETES);
    many(index);
    index.upsertPolicy(allowFrom('twin', '10.200.0.7', 1007));
    const first = compile(index);
    index.deletePolicy(allowFrom('twin', '10.200.0.7', 1007).ref);
    const second = compile(index, first);
    expect(renderDelta(model(first), model(second))).toBe('');
    expect(held(second)).toEqual(held(compile(index)));
  });

  it('rebuilds the interval sets when a policy with a prefix and a port range comes', () => {
    const index = indexWith(KUBERNETES);
    many(index);
    const first = compile(index);
    index.upsertPolicy(allowFrom('wide', '10.251.0.0', 7000, true));
    const second = compile(index, first);
    const delta = lines(renderDelta(model(first), model(second)));
    expect(delta.some((l) => l.includes('10.251.0.0/24 . 6 . 7000-7100'))).toBe(true);
    expect(delta.every((l) => l.startsWith('add element') || l.startsWith('delete element'))).toBe(true);
    expect(held(second)).toEqual(held(compile(index)));
  });

  it('compiles from nothing when the same previous compilation is handed over twice', () => {
    const index = indexWith(KUBERNETES);
    many(index);
    const first = compile(index);
    index.upsertPolicy(allowFrom('one', '10.250.0.1', 4242));
    compile(index, first);
    index.deletePolicy(allowFrom('one', '10.250.0.1', 4242).ref);
    index.upsertPolicy(allowFrom('two', '10.250.0.2', 4343));
    expect(held(compile(index, first))).toEqual(held(compile(index)));
  });
});
