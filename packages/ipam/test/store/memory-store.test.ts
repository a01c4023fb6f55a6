import { describe, expect, it } from 'vitest';

import { MemoryStore } from '@twill/ipam';

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
