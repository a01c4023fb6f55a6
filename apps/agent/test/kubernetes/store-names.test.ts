import { describe, expect, it } from 'vitest';

import {
  entryOfObject,
  isObjectName,
  PARENT_LABEL,
  parentLabelValue,
  parentPrefix,
  storeKindOfKey,
  storeKindOfPrefix,
  storeObject,
  storeObjectName,
} from '../../src/agent/kubernetes/store-names.js';

// Where the ipam Store's keys live on the Kubernetes API: kinds, names, labels, spec.
describe('store keys on the Kubernetes API', () => {
  it.each([
    ['twill-pools/blocks/10.0.0.64-26', 'IPAMBlock'],
    ['other-root/blocks/fd00::40-122', 'IPAMBlock'],
    ['twill-pools/affinity/node-1', 'BlockAffinity'],
    ['twill-pools/handles/net.abc', 'IPAMHandle'],
    ['twill-endpoints/net/abc', 'StoreEntry'],
    ['net1/10.0.0.5', 'StoreEntry'],
    ['blocks/x', 'StoreEntry'],
    ['twill-pools/blocks', 'StoreEntry'],
    ['twill-pools/blocks/x/y', 'StoreEntry'],
    ['top', 'StoreEntry'],
  ])('%s is a %s', (key, kind) => {
    expect(storeKindOfKey(key).kind).toBe(kind);
    expect(storeKindOfPrefix(parentPrefix(key)).kind).toBe(kind);
  });

  it.each([
    ['twill-pools/blocks/10.0.0.64-26', '10.0.0.64-26'],
    ['twill-pools/affinity/node-1', 'node-1'],
    ['twill-pools/handles/net.0123abcd', 'net.0123abcd'],
  ])('names %s readably: %s', (key, name) => {
    expect(storeObjectName(key)).toBe(name);
  });

  // Keys that are not valid names as they are: IPv6 CIDRs, upper case container IDs,
  // underscores, other roots, StoreEntry paths, very long keys, a segment that looks hashed.
  const odd = [
    'twill-pools/blocks/fd00::40-122',
    'twill-pools/blocks/FD00::40-122',
    'twill-pools/handles/net.ABCDEF0123',
    'twill-pools/handles/net.abcdef0123',
    'twill-pools/affinity/node-1',
    'twill-pools/handles/my_net.abc',
    'twill-pools/affinity/Node_1',
    'twill-pools/affinity/node-1-h0123456789abcdef',
    'other/blocks/10.0.0.64-26',
    'twill-endpoints/net1/0123abcd',
    'twill-endpoints/net1.0123abcd',
    'twill-endpoints.net1/0123abcd',
    'net1/10.0.0.5',
    'net1/last_reserved_ip.0',
    '-/-/-',
    '.../...',
    `twill-pools/handles/net.${'A'.repeat(300)}`,
    `twill-pools/handles/net.${'a'.repeat(300)}`,
    `twill-pools/handles/net.${'a'.repeat(299)}b`,
    'ünïcødé/ключ',
  ];

  it('gives every key a valid, deterministic name, and no two keys of one kind the same', () => {
    const names = new Map<string, string>();
    for (const key of odd) {
      const name = storeObjectName(key);
      expect(isObjectName(name), `${key} -> ${name}`).toBe(true);
      expect(storeObjectName(key)).toBe(name);
      const id = `${storeKindOfKey(key).kind}/${name}`;
      expect(names.get(id), `${key} and ${names.get(id) ?? ''} share ${id}`).toBeUndefined();
      names.set(id, key);
    }
    // A segment made to look like another key's hashed name does not take that name.
    const hashed = storeObjectName('other/affinity/x');
    expect(storeObjectName(`twill-pools/affinity/${hashed}`)).not.toBe(hashed);
  });

  it('keeps a sanitised, readable start in hashed names', () => {
    expect(storeObjectName('twill-pools/blocks/fd00::40-122')).toMatch(/^twill-pools\.blocks\.fd00-40-122-h[0-9a-f]{16}$/);
    expect(storeObjectName('twill-endpoints/net1/0123abcd')).toMatch(/^twill-endpoints\.net1\.0123abcd-h[0-9a-f]{16}$/);
    expect(storeObjectName('twill-pools/handles/net.ABCDEF')).toMatch(/^twill-pools\.handles\.net\.abcdef-h[0-9a-f]{16}$/);
    // A segment that ends like a hashed name is hashed, so it cannot meet one.
    expect(storeObjectName('twill-pools/affinity/node-1-h0123456789abcdef')).toMatch(/^twill-pools\.affinity\.node-1-h0123456789abcdef-h[0-9a-f]{16}$/);
    expect(storeObjectName(`twill-pools/handles/net.${'a'.repeat(300)}`)).toHaveLength(253);
  });

  it('labels an entry with its parent prefix, the same for every child', () => {
    const a = storeObject('twill-endpoints/net1/a', 'x');
    const b = storeObject('twill-endpoints/net1/b', 'y');
    const deeper = storeObject('twill-endpoints/net1/a/b', 'z');
    expect(a.metadata.labels[PARENT_LABEL]).toBe(parentLabelValue('twill-endpoints/net1/'));
    expect(b.metadata.labels[PARENT_LABEL]).toBe(a.metadata.labels[PARENT_LABEL]);
    expect(deeper.metadata.labels[PARENT_LABEL]).not.toBe(a.metadata.labels[PARENT_LABEL]);
    expect(parentLabelValue('')).toMatch(/^[0-9a-f]{20}$/);
  });

  it('builds objects holding the exact key and text, with readable copies', () => {
    const value = '{"cidr":"10.0.0.64/26","pool":"p","affinity":"n1","size":64,"released":[]}\n[0,"net.c0"]';
    expect(storeObject('twill-pools/blocks/10.0.0.64-26', value, '42')).toEqual({
      apiVersion: 'twill.io/v1alpha1',
      kind: 'IPAMBlock',
      metadata: { name: '10.0.0.64-26', labels: { [PARENT_LABEL]: parentLabelValue('twill-pools/blocks/') }, resourceVersion: '42' },
      spec: { key: 'twill-pools/blocks/10.0.0.64-26', value, cidr: '10.0.0.64/26', affinity: 'host:n1' },
    });
    // A block no node holds, or whose text does not parse, has no affinity copy.
    expect(storeObject('twill-pools/blocks/fd00::40-122', '{"affinity":null}').spec).toEqual({ key: 'twill-pools/blocks/fd00::40-122', value: '{"affinity":null}', cidr: 'fd00::40/122' });
    expect(storeObject('twill-pools/blocks/10.0.0.0-30', 'not json').spec).toEqual({ key: 'twill-pools/blocks/10.0.0.0-30', value: 'not json', cidr: '10.0.0.0/30' });
    expect(storeObject('twill-pools/affinity/n1', '{"node":"n1","blocks":[]}').spec).toEqual({ key: 'twill-pools/affinity/n1', value: '{"node":"n1","blocks":[]}', node: 'n1' });
    const entry = storeObject('net1/10.0.0.5', 'c1\r\neth0');
    expect(entry.kind).toBe('StoreEntry');
    expect(entry.spec).toEqual({ key: 'net1/10.0.0.5', value: 'c1\r\neth0' });
    expect('resourceVersion' in entry.metadata).toBe(false);
  });

  it('reads an entry back from an object, or says what is wrong with it', () => {
    expect(entryOfObject({ metadata: { name: 'n', resourceVersion: '7' }, spec: { key: 'a/b', value: '' } })).toEqual({ key: 'a/b', value: '', revision: '7' });
    expect(entryOfObject({ metadata: { name: 'n', resourceVersion: '7' }, spec: { value: 'x' } })).toBe('n: spec.key is missing or not a string');
    expect(entryOfObject({ metadata: { name: 'n', resourceVersion: '7' }, spec: { key: 'a/b', value: 3 } })).toBe('n: spec.value is missing or not a string');
    expect(entryOfObject({ metadata: { name: 'n' }, spec: { key: 'a/b', value: 'x' } })).toBe('n: metadata.resourceVersion is missing');
    expect(entryOfObject(null)).toBe('not an object');
  });
});
