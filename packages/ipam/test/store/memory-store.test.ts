import { describe, expect, it } from 'vitest';

import { MemoryStore } from '@twill/ipam';

import { ClaimableDocument } from '../../src/store/store.js';

// What a document written through commitSync looks like to every reader.
class Counted {
  made = 0;

  constructor(readonly source: string) {}

  get text(): string {
    this.made++;
    return this.source;
  }
}

describe('MemoryStore: values written as documents', () => {
  it('reads back the document and its text, and makes the text only when asked', async () => {
    const store = new MemoryStore();
    const doc = new Counted('{"a":1}');
    expect(store.commitSync([{ type: 'put', key: 'n/a', document: doc, expect: { absent: true } }])).toEqual({ ok: true });
    expect(doc.made).toBe(0);
    const entry = store.getSync('n/a');
    expect(entry?.document).toBe(doc);
    expect(doc.made).toBe(0);
    expect(entry?.value).toBe('{"a":1}');
    expect((await store.get('n/a'))?.value).toBe('{"a":1}');
    expect((await store.list('n/')).map((e) => [e.key, e.value])).toEqual([['n/a', '{"a":1}']]);
  });

  it('holds compare-and-swap on revisions across text and document writes', () => {
    const store = new MemoryStore();
    store.commitSync([{ type: 'put', key: 'n/a', value: 'text' }]);
    const first = store.getSync('n/a');
    expect(first?.document).toBeUndefined();
    const doc = new Counted('doc');
    expect(store.commitSync([{ type: 'put', key: 'n/a', document: doc, expect: { revision: first?.revision ?? '' } }])).toEqual({ ok: true });
    // The first revision is gone: a write conditioned on it fails and changes nothing.
    expect(store.commitSync([{ type: 'put', key: 'n/a', value: 'late', expect: { revision: first?.revision ?? '' } }])).toEqual({ ok: false, conflicts: ['n/a'] });
    expect(store.commitSync([{ type: 'put', key: 'n/b', document: new Counted('x'), expect: { absent: true } }, { type: 'delete', key: 'n/a', expect: { absent: true } }])).toEqual({
      ok: false,
      conflicts: ['n/a'],
    });
    expect(store.getSync('n/b')).toBeUndefined();
    expect(store.getSync('n/a')?.value).toBe('doc');
  });
});

// A document that may be the store's entry itself (the pool allocator's blocks and handles).
class Claimable extends ClaimableDocument {
  constructor(readonly source: string) {
    super();
  }

  override get text(): string {
    return this.source;
  }
}

describe('MemoryStore: documents that can be their own entry', () => {
  it('read back with their key, text and revision, and compare-and-swap as any entry', () => {
    const store = new MemoryStore();
    const doc = new Claimable('one');
    expect(store.commitSync([{ type: 'put', key: 'n/a', document: doc, expect: { absent: true } }])).toEqual({ ok: true });
    const entry = store.getSync('n/a');
    expect([entry?.key, entry?.value, entry?.document]).toEqual(['n/a', 'one', doc]);
    const revision = entry?.revision ?? '';
    expect(store.commitSync([{ type: 'put', key: 'n/a', document: new Claimable('two'), expect: { revision } }])).toEqual({ ok: true });
    expect(store.commitSync([{ type: 'delete', key: 'n/a', expect: { revision } }])).toEqual({ ok: false, conflicts: ['n/a'] });
    expect(store.getSync('n/a')?.value).toBe('two');
  });

  it('written again (at another key, or to another store) do not change the entry they already are', () => {
    const store = new MemoryStore();
    const other = new MemoryStore();
    const doc = new Claimable('same');
    store.commitSync([{ type: 'put', key: 'n/a', document: doc }]);
    const first = store.getSync('n/a');
    const firstRevision = first?.revision;
    store.commitSync([{ type: 'put', key: 'n/filler', value: 'x' }]);
    store.commitSync([{ type: 'put', key: 'n/b', document: doc }]);
    other.commitSync([{ type: 'put', key: 'm/c', document: doc }]);
    // The first entry still says where and when it was written.
    expect([first?.key, first?.revision]).toEqual(['n/a', firstRevision]);
    expect(store.getSync('n/a')?.revision).toBe(firstRevision);
    const second = store.getSync('n/b');
    expect([second?.key, second?.value, second?.document]).toEqual(['n/b', 'same', doc]);
    expect(second?.revision).not.toBe(firstRevision);
    expect([other.getSync('m/c')?.key, other.getSync('m/c')?.value]).toEqual(['m/c', 'same']);
    // Each entry is guarded by its own revision.
    expect(store.commitSync([{ type: 'delete', key: 'n/b', expect: { revision: firstRevision ?? '' } }])).toEqual({ ok: false, conflicts: ['n/b'] });
    expect(store.commitSync([{ type: 'delete', key: 'n/a', expect: { revision: firstRevision ?? '' } }])).toEqual({ ok: true });
    expect(store.getSync('n/b')?.value).toBe('same');
    expect(store.listSync('n/').map((e) => e.key)).toEqual(['n/b', 'n/filler']);
  });

  it('holds a condition carrying the entry read only while that entry is current, and by revision for an entry of another store', () => {
    const store = new MemoryStore();
    const other = new MemoryStore();
    store.commitSync([{ type: 'put', key: 'n/a', value: 'one' }]);
    other.commitSync([{ type: 'put', key: 'n/a', value: 'one' }]);
    const read = store.getSync('n/a');
    const foreign = other.getSync('n/a');
    if (read === undefined || foreign === undefined) throw new Error('not written');
    // Another store's entry at the same revision text: the revision decides.
    expect(foreign.revision).toBe(read.revision);
    expect(store.commitSync([{ type: 'put', key: 'n/a', value: 'two', expect: { revision: foreign.revision, entry: foreign } }])).toEqual({ ok: true });
    // The entry read before that write is no longer current: the condition fails, whatever entry it carries.
    expect(store.commitSync([{ type: 'put', key: 'n/a', value: 'three', expect: { revision: read.revision, entry: read } }])).toEqual({ ok: false, conflicts: ['n/a'] });
    const current = store.getSync('n/a');
    expect(store.commitSync([{ type: 'delete', key: 'n/a', expect: { revision: current?.revision ?? '', entry: current } }])).toEqual({ ok: true });
    expect(store.getSync('n/a')).toBeUndefined();
  });
});
