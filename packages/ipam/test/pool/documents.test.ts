import { describe, expect, it } from 'vitest';

import { type BlockDocument, decodeBlock, decodeHandle, encodeBlock, encodeHandle, MemoryStore, PoolAllocator, StoreFailureError } from '@twill/ipam';

import { takeInBlock } from '../../src/pool/documents.js';
import { noSleep, poolConfig, setup } from './helpers.js';

const header = '{"cidr":"10.0.0.0/30","pool":"p","affinity":"n1","size":4,"released":[[2,1000]]}';

const block: BlockDocument = {
  cidr: '10.0.0.0/30',
  pool: 'p',
  affinity: 'n1',
  allocations: ['net.c0', null, null, 'net.c"3\n'],
  released: [[2, 1000]],
};

describe('block documents', () => {
  it('are a header line, then one line per allocated address by ordinal', () => {
    expect(encodeBlock(block)).toBe(`${header}\n[0,"net.c0"]\n[3,"net.c\\"3\\n"]`);
  });

  it('round-trip', () => {
    expect(decodeBlock(encodeBlock(block))).toEqual(block);
    const empty: BlockDocument = { cidr: 'fd00::40/122', pool: 'v6', affinity: null, allocations: Array<null>(64).fill(null), released: [] };
    expect(decodeBlock(encodeBlock(empty))).toEqual(empty);
  });

  it('read allocation lines in any order (taking appends)', () => {
    expect(decodeBlock(`${header}\n[3,"b"]\n[0,"a"]`).allocations).toEqual(['a', null, null, 'b']);
  });

  it('taking an address appends its line to the text read, and matches a full encoding', () => {
    const read = decodeBlock(encodeBlock(block));
    const taken = takeInBlock(read, 1, 'net.c1', { affinity: 'n1', released: read.released });
    expect(taken.text).toBe(`${header}\n[0,"net.c0"]\n[3,"net.c\\"3\\n"]\n[1,"net.c1"]`);
    expect(decodeBlock(taken.text)).toEqual({ ...block, allocations: ['net.c0', 'net.c1', null, 'net.c"3\n'] });
    // A changed affinity or cooldown list re-encodes the header.
    const claimed = takeInBlock(taken, 2, 'net.c2', { affinity: 'n2', released: [] });
    expect(decodeBlock(claimed.text)).toEqual({ ...block, affinity: 'n2', allocations: ['net.c0', 'net.c1', 'net.c2', 'net.c"3\n'], released: [] });
    // A document built elsewhere (a plain object) is encoded whole.
    const plain = takeInBlock({ ...block }, 1, 'x', { affinity: null, released: [] });
    expect(plain.text).toBe(encodeBlock({ ...block, affinity: null, allocations: ['net.c0', 'x', null, 'net.c"3\n'], released: [] }));
  });

  it('taken address after address from a /26 read whole, as JSON, and as text, with every earlier version unchanged', () => {
    const cidr = '10.0.0.64/26';
    const empty: BlockDocument = { cidr, pool: 'p', affinity: 'n1', allocations: Array<null>(64).fill(null), released: [] };
    const versions: BlockDocument[] = [empty];
    const order = [5, 0, 63, 8, 7, 9, 32, 1];
    for (const ordinal of order) {
      const base = versions[versions.length - 1] as BlockDocument;
      versions.push(takeInBlock(base, ordinal, `net.c${ordinal}`, { affinity: 'n1', released: [] }));
    }
    versions.forEach((version, i) => {
      const expected = Array.from({ length: 64 }, (_, o) => (order.slice(0, i).includes(o) ? `net.c${o}` : null));
      expect(version.allocations).toEqual(expected);
      expect(JSON.parse(JSON.stringify(version))).toEqual({ cidr, pool: 'p', affinity: 'n1', allocations: expected, released: [] });
      expect(decodeBlock(encodeBlock(version)).allocations).toEqual(expected);
      // A document derived with the allocations named keeps them.
      expect({ ...version, allocations: version.allocations, affinity: null }.allocations).toEqual(expected);
    });
    expect(() => takeInBlock(versions[3] as BlockDocument, 63, 'net.again', { affinity: 'n1', released: [] })).toThrow(/not free/);
    expect(() => takeInBlock(versions[3] as BlockDocument, 64, 'net.outside', { affinity: 'n1', released: [] })).toThrow(/not free/);
  });

  it('taking an address that is not free is a bug, not a silent overwrite', () => {
    expect(() => takeInBlock(block, 0, 'net.other', { affinity: 'n1', released: [] })).toThrow(/not free/);
  });

  it.each([
    ['not JSON', '{not json'],
    ['the previous format (no size)', '{"cidr":"10.0.0.0/30","pool":"p","affinity":null,"allocations":[null,null,null,null],"released":[]}'],
    ['a size of 0', '{"cidr":"10.0.0.0/30","pool":"p","affinity":null,"size":0,"released":[]}'],
    ['a size past the largest block', '{"cidr":"10.0.0.0/30","pool":"p","affinity":null,"size":4097,"released":[]}'],
    ['an ordinal listed twice', `${header}\n[0,"a"]\n[0,"b"]`],
    ['an ordinal outside the block', `${header}\n[4,"a"]`],
    ['a negative ordinal', `${header}\n[-1,"a"]`],
    ['a fractional ordinal', `${header}\n[1.5,"a"]`],
    ['a handle that is not a string', `${header}\n[0,null]`],
    ['a line that is not a pair', `${header}\n[0,"a","b"]`],
    ['an empty line', `${header}\n`],
    ['two values on one line', `${header}\n[0,"a"],[1,"b"]`],
  ])('reject %s as corrupt', (_what, text) => {
    expect(() => decodeBlock(text)).toThrow(StoreFailureError);
    expect(() => decodeBlock(text)).toThrow(/^corrupt block document: /);
  });
});

describe('handle documents', () => {
  it('encode as JSON.stringify would, and round-trip', () => {
    const full = {
      handle: 'net.c"1',
      network: 'net',
      addresses: [
        { ip: '10.0.0.1', block: '10.0.0.0/30' },
        { ip: 'fd00::1', block: 'fd00::/122' },
      ],
      attributes: { containerId: 'c"1', ifName: 'eth0', node: 'n1', namespace: 'default', pod: 'p\u2028', since: 1_893_456_000_000 },
    };
    expect(encodeHandle(full)).toBe(JSON.stringify(full));
    expect(decodeHandle(encodeHandle(full))).toEqual(full);
    const bare = { handle: 'net.c2', network: 'net', addresses: [], attributes: { containerId: 'c2', ifName: 'eth0', node: 'n1', since: 0 } };
    expect(encodeHandle(bare)).toBe(JSON.stringify(bare));
  });

  // The memory store keeps a one-address handle as its fields and writes its text when
  // read: what a reader gets must be the text an I/O store would have stored.
  it.each([
    ['with namespace and pod', { namespace: 'default', pod: 'web-0' }],
    ['without them', {}],
    ['with text JSON escapes', { namespace: 'n"s', pod: 'p\u2028' }],
  ])('written to the memory store %s, read back as the text encodeHandle writes', async (_what, extra) => {
    const { allocator, store, clock } = setup({ pools: [{ name: 'p4', cidr: '10.0.0.0/24', blockSize: 28 }] });
    const { handle, addresses } = await allocator.allocate({ containerId: 'c"1', ifName: 'eth0', node: 'n1', ...extra });
    const entry = await store.get(`twill-pools/handles/${handle}`);
    const expected = {
      handle,
      network: 'net',
      addresses: [{ ip: addresses[0]?.ip ?? '', block: '10.0.0.0/28' }],
      attributes: { containerId: 'c"1', ifName: 'eth0', node: 'n1', ...extra, since: clock.now() },
    };
    expect(entry?.value).toBe(encodeHandle(expected));
    expect(decodeHandle(entry?.value ?? '')).toEqual(expected);
    // And a release, which reads it, frees the address.
    expect(await allocator.release({ containerId: 'c"1' })).toEqual([addresses[0]?.ip]);
  });

  it.each([
    ['a fraction of a millisecond', 1_893_456_000_000.25],
    ['past 2038 in seconds', 4_102_444_800_123],
    ['before the epoch', -1_500.5],
    ['zero', 0],
    ['the largest safe integer', Number.MAX_SAFE_INTEGER],
  ])('written to the memory store keep since exactly: %s', async (_what, since) => {
    const store = new MemoryStore();
    const allocator = new PoolAllocator({ config: poolConfig({ pools: [{ name: 'p4', cidr: '10.0.0.0/24', blockSize: 28 }] }), store, now: () => since, retry: noSleep });
    const { handle } = await allocator.allocate({ containerId: 'c1', ifName: 'eth0', node: 'n1' });
    const entry = await store.get(`twill-pools/handles/${handle}`);
    expect(decodeHandle(entry?.value ?? '').attributes.since).toBe(since);
  });

  it("written to the memory store for several nodes, interfaces and namespaces, each read back with its own", async () => {
    const { allocator, store } = setup({ pools: [{ name: 'p4', cidr: '10.0.0.0/24', blockSize: 28 }] });
    const requests = [
      { containerId: 'a', ifName: 'eth0', node: 'n1', namespace: 'ns1', pod: 'p' },
      { containerId: 'b', ifName: 'eth0', node: 'n2', namespace: 'ns1' },
      { containerId: 'c', ifName: 'net1', node: 'n1', namespace: 'ns1' },
      { containerId: 'd', ifName: 'net1', node: 'n1', namespace: 'ns2', pod: 'q' },
      { containerId: 'e', ifName: 'net1', node: 'n1' },
      { containerId: 'f', ifName: 'eth0', node: 'n2', namespace: 'ns1' },
    ];
    for (const request of requests) await allocator.allocate(request);
    for (const { containerId, ...attributes } of requests) {
      const read = decodeHandle((await store.get(`twill-pools/handles/net.${containerId}`))?.value ?? '');
      expect(read.attributes).toEqual({ containerId, ...attributes, since: expect.any(Number) as number });
    }
  });
});

// Text is written between quotes as is when JSON needs no escape, and through
// JSON.stringify otherwise: every kind of character JSON treats specially, in every field.
describe('JSON text in documents', () => {
  const corpus: readonly (readonly [string, string])[] = [
    ['plain', 'c-1_a.b'],
    ['empty', ''],
    ['a quote', 'c"1'],
    ['a backslash', 'c\\1'],
    ['a newline and a tab', 'c\n\t1'],
    ['NUL and US', 'c\u0000\u001f'],
    ['DEL and non-ASCII (not escaped)', 'c\u007fé漢'],
    ['a surrogate pair', 'c😀'],
    ['a lone high surrogate', 'c\ud800'],
    ['a lone low surrogate', 'c\udfff1'],
    ['U+2028 and U+2029', 'c\u2028\u2029'],
  ];

  it.each(corpus)('handle fields holding %s encode as JSON.stringify would', (_what, text) => {
    const doc = {
      handle: `net.${text}`,
      network: 'net',
      addresses: [{ ip: '10.0.0.1', block: '10.0.0.0/30' }],
      attributes: { containerId: text, ifName: text, node: text, namespace: text, pod: text, since: 5 },
    };
    expect(encodeHandle(doc)).toBe(JSON.stringify(doc));
    expect(decodeHandle(encodeHandle(doc))).toEqual(doc);
  });

  it.each(corpus)('a block line for a handle holding %s reads back', (_what, text) => {
    const read = decodeBlock(encodeBlock(block));
    const taken = takeInBlock(read, 1, `net.${text}`, { affinity: 'n1', released: read.released });
    expect(taken.text.endsWith(`\n[1,${JSON.stringify(`net.${text}`)}]`)).toBe(true);
    expect(decodeBlock(taken.text).allocations[1]).toBe(`net.${text}`);
  });
});
