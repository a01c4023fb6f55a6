import { describe, expect, it } from 'vitest';

import { type StoreEntry, StoreFailureError, type StoreOp } from '@twill/ipam';

import { casCommit, CONFLICT, type CasObjects, StoreRefusedError } from '../../src/agent/kubernetes/store-commit.js';

// The commit over single-object compare-and-swap, over objects kept in a map with one
// revision counter, as the API server keeps them. `before` runs before every request,
// so a test can play another writer at an exact moment; `requests` counts them.
class MapObjects implements CasObjects {
  readonly entries = new Map<string, { value: string; revision: string }>();
  readonly requests: string[] = [];
  before: ((request: string) => void) | undefined;
  #version = 100;

  put(key: string, value: string): string {
    const revision = String(++this.#version);
    this.entries.set(key, { value, revision });
    return revision;
  }

  #request(request: string): void {
    this.requests.push(request);
    this.before?.(request);
  }

  async read(key: string): Promise<StoreEntry | undefined> {
    this.#request(`read ${key}`);
    const entry = this.entries.get(key);
    return entry === undefined ? undefined : { key, ...entry };
  }

  async create(key: string, value: string): Promise<string | typeof CONFLICT> {
    this.#request(`create ${key}`);
    return this.entries.has(key) ? CONFLICT : this.put(key, value);
  }

  async replace(key: string, value: string, revision: string): Promise<string | typeof CONFLICT> {
    this.#request(`replace ${key}`);
    return this.entries.get(key)?.revision === revision ? this.put(key, value) : CONFLICT;
  }

  async remove(key: string, revision: string | undefined): Promise<'deleted' | 'absent' | typeof CONFLICT> {
    this.#request(`remove ${key}`);
    const entry = this.entries.get(key);
    if (entry === undefined) return revision === undefined ? 'absent' : CONFLICT;
    if (revision !== undefined && entry.revision !== revision) return CONFLICT;
    this.entries.delete(key);
    return 'deleted';
  }

  values(): Record<string, string> {
    return Object.fromEntries([...this.entries].map(([k, e]) => [k, e.value]));
  }
}

describe('casCommit: a multi-key commit over single-object compare-and-swap', () => {
  it('applies every write in order when every condition holds', async () => {
    const objects = new MapObjects();
    const a = objects.put('n/a', 'old-a');
    const c = objects.put('n/c', 'old-c');
    const ops: StoreOp[] = [
      { type: 'put', key: 'n/a', value: 'new-a', expect: { revision: a } },
      { type: 'put', key: 'n/b', value: 'b', expect: { absent: true } },
      { type: 'delete', key: 'n/c', expect: { revision: c } },
      { type: 'delete', key: 'n/d', expect: { absent: true } },
      { type: 'put', key: 'n/e', value: 'e' },
    ];
    expect(await casCommit(ops, { objects })).toEqual({ outcome: { ok: true }, wrote: true });
    expect(objects.values()).toEqual({ 'n/a': 'new-a', 'n/b': 'b', 'n/e': 'e' });
  });

  it('undoes the earlier writes when a later condition fails: created, replaced and deleted keys are as before', async () => {
    const objects = new MapObjects();
    const a = objects.put('n/a', 'old-a');
    const c = objects.put('n/c', 'old-c');
    objects.put('n/taken', 'x');
    const ops: StoreOp[] = [
      { type: 'put', key: 'n/a', value: 'new-a', expect: { revision: a } },
      { type: 'put', key: 'n/b', value: 'b', expect: { absent: true } },
      { type: 'delete', key: 'n/c', expect: { revision: c } },
      { type: 'put', key: 'n/u', value: 'u' },
      { type: 'put', key: 'n/taken', value: 'y', expect: { absent: true } },
    ];
    expect(await casCommit(ops, { objects })).toEqual({ outcome: { ok: false, conflicts: ['n/taken'] }, wrote: true });
    expect(objects.values()).toEqual({ 'n/a': 'old-a', 'n/c': 'old-c', 'n/taken': 'x' });
  });

  it('tries the writes conditioned on a revision first, so a stale one costs no write to undo', async () => {
    const objects = new MapObjects();
    const block = objects.put('b/1', 'block');
    objects.put('b/1', 'changed by another agent');
    const known = { valueAt: (key: string, revision: string) => (key === 'b/1' && revision === block ? 'block' : undefined) };
    const ops: StoreOp[] = [
      { type: 'put', key: 'h/new', value: 'handle', expect: { absent: true } },
      { type: 'put', key: 'b/1', value: 'block+handle', expect: { revision: block } },
    ];
    expect(await casCommit(ops, { objects, known })).toEqual({ outcome: { ok: false, conflicts: ['b/1'] }, wrote: false });
    expect(objects.requests).toEqual(['replace b/1']);
  });

  it('reads a replaced key first only when its previous text is not known', async () => {
    const objects = new MapObjects();
    const a = objects.put('n/a', 'old-a');
    const ops: StoreOp[] = [
      { type: 'put', key: 'n/a', value: 'new-a', expect: { revision: a } },
      { type: 'put', key: 'n/b', value: 'b', expect: { absent: true } },
    ];
    await casCommit(ops, { objects });
    expect(objects.requests).toEqual(['read n/a', 'replace n/a', 'create n/b']);
    objects.requests.length = 0;
    const known = { valueAt: (key: string, revision: string) => (key === 'n/a' && revision === objects.entries.get('n/a')?.revision ? 'new-a' : undefined) };
    const again: StoreOp[] = [
      { type: 'put', key: 'n/a', value: 'newer-a', expect: { revision: objects.entries.get('n/a')?.revision ?? '' } },
      { type: 'put', key: 'n/b', value: 'b2', expect: { absent: true } },
    ];
    expect((await casCommit(again, { objects, known })).outcome).toEqual({ ok: false, conflicts: ['n/b'] });
    expect(objects.requests).toEqual(['replace n/a', 'create n/b', 'replace n/a']);
    expect(objects.values()).toEqual({ 'n/a': 'new-a', 'n/b': 'b' });
  });

  it('takes the previous text from the entry a condition carries, without reading', async () => {
    const objects = new MapObjects();
    const a = objects.put('n/a', 'old-a');
    objects.put('n/taken', 'x');
    const ops: StoreOp[] = [
      { type: 'put', key: 'n/a', value: 'new-a', expect: { revision: a, entry: { key: 'n/a', value: 'old-a', revision: a } } },
      { type: 'put', key: 'n/taken', value: 'y', expect: { absent: true } },
    ];
    expect((await casCommit(ops, { objects })).outcome).toEqual({ ok: false, conflicts: ['n/taken'] });
    expect(objects.requests).toEqual(['replace n/a', 'create n/taken', 'replace n/a']);
    expect(objects.values()).toEqual({ 'n/a': 'old-a', 'n/taken': 'x' });
  });

  it('fails on a stale revision found by that read, without writing', async () => {
    const objects = new MapObjects();
    objects.put('n/a', 'old-a');
    const ops: StoreOp[] = [
      { type: 'put', key: 'n/a', value: 'new-a', expect: { revision: '1' } },
      { type: 'put', key: 'n/b', value: 'b' },
    ];
    expect(await casCommit(ops, { objects })).toEqual({ outcome: { ok: false, conflicts: ['n/a'] }, wrote: false });
    expect(objects.requests).toEqual(['read n/a']);
  });

  it('treats a revision it never hands out as a conflict', async () => {
    const objects = new MapObjects();
    objects.put('n/a', 'old-a');
    expect((await casCommit([{ type: 'delete', key: 'n/a', expect: { revision: 'abc' } }], { objects })).outcome).toEqual({ ok: false, conflicts: ['n/a'] });
    expect(objects.values()).toEqual({ 'n/a': 'old-a' });
  });

  it('retries an unconditional write until its compare-and-swap lands', async () => {
    const objects = new MapObjects();
    objects.put('n/a', 'v0');
    let interfere = 3;
    objects.before = (request) => {
      // Another writer changes n/a between each read and write, three times.
      if (request === 'replace n/a' && interfere-- > 0) objects.put('n/a', `other${interfere}`);
    };
    expect((await casCommit([{ type: 'put', key: 'n/a', value: 'mine' }], { objects })).outcome).toEqual({ ok: true });
    expect(objects.values()).toEqual({ 'n/a': 'mine' });
    expect(objects.requests.filter((r) => r === 'read n/a')).toHaveLength(4);
  });

  it('gives up an unconditional write that never lands, with an error naming the key', async () => {
    const objects = new MapObjects();
    objects.put('n/a', 'v0');
    objects.before = (request) => {
      if (request === 'replace n/a') objects.put('n/a', 'other');
    };
    await expect(casCommit([{ type: 'put', key: 'n/a', value: 'mine' }], { objects, maxUnconditionalAttempts: 5 })).rejects.toThrow(
      new StoreFailureError('Kubernetes store: the unconditional put of n/a kept conflicting (5 attempts)'),
    );
  });

  it('names the keys left half-written when an undo meets another writer', async () => {
    const objects = new MapObjects();
    objects.put('n/taken', 'x');
    objects.before = (request) => {
      // Another writer changes n/a after this commit created it and before the undo.
      if (request === 'create n/taken') objects.put('n/a', 'theirs');
    };
    const ops: StoreOp[] = [
      { type: 'put', key: 'n/a', value: 'a', expect: { absent: true } },
      { type: 'put', key: 'n/b', value: 'b', expect: { absent: true } },
      { type: 'put', key: 'n/taken', value: 'y', expect: { absent: true } },
    ];
    const failure = casCommit(ops, { objects });
    await expect(failure).rejects.toThrow(StoreFailureError);
    await expect(failure).rejects.toThrow(/after n\/taken conflicted: n\/a left half-written/);
    // n/b was undone; n/a is the other writer's.
    expect(objects.values()).toEqual({ 'n/a': 'theirs', 'n/taken': 'x' });
  });

  it('undoes what was written when the API fails in the middle, and names the failed write as one that may have been written', async () => {
    const objects = new MapObjects();
    objects.before = (request) => {
      // No answer: the server may have applied the write before the connection went.
      if (request === 'create n/b') throw new StoreFailureError('Kubernetes store: create ipamblocks/b failed: socket hang up');
    };
    const ops: StoreOp[] = [
      { type: 'put', key: 'n/a', value: 'a', expect: { absent: true } },
      { type: 'put', key: 'n/b', value: 'b', expect: { absent: true } },
    ];
    const failure = casCommit(ops, { objects });
    await expect(failure).rejects.toThrow(StoreFailureError);
    await expect(failure).rejects.toThrow(
      /^Kubernetes store: a commit could not be undone after the write of n\/b failed \(.*socket hang up\): n\/b may have been written; the pool allocator's check\(\) reports/,
    );
    expect(objects.values()).toEqual({});
  });

  it('names the keys left and the one that may have been written when the undo fails too', async () => {
    const objects = new MapObjects();
    objects.before = (request) => {
      if (request === 'create n/b') throw new StoreFailureError('Kubernetes store: create ipamblocks/b failed: The operation was aborted due to timeout');
      if (request === 'remove n/a') throw new StoreFailureError('Kubernetes store: delete ipamblocks/a failed: socket hang up');
    };
    const ops: StoreOp[] = [
      { type: 'put', key: 'n/a', value: 'a', expect: { absent: true } },
      { type: 'put', key: 'n/b', value: 'b', expect: { absent: true } },
    ];
    await expect(casCommit(ops, { objects })).rejects.toThrow(/after the write of n\/b failed \(.*timeout\): n\/a left half-written \(.*\); n\/b may have been written; /);
    expect(objects.values()).toEqual({ 'n/a': 'a' });
  });

  it('rejects with the refusal as is when the API refused a write (nothing written), after undoing the earlier ones', async () => {
    const objects = new MapObjects();
    objects.before = (request) => {
      if (request === 'create n/b') throw new StoreRefusedError('Kubernetes store: create ipamblocks/b failed: 422 Invalid: spec.value: Too long');
    };
    const ops: StoreOp[] = [
      { type: 'put', key: 'n/a', value: 'a', expect: { absent: true } },
      { type: 'put', key: 'n/b', value: 'b', expect: { absent: true } },
    ];
    await expect(casCommit(ops, { objects })).rejects.toThrow(new StoreRefusedError('Kubernetes store: create ipamblocks/b failed: 422 Invalid: spec.value: Too long'));
    expect(objects.values()).toEqual({});
  });
});
