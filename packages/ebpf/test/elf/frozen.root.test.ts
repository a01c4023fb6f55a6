import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { rootSkipReason } from '@twill/sys/testing';
import { afterEach, describe, expect, it } from 'vitest';

import { BpfError, type Collection, type CollectionSpec, bytes, loadCollection, readCollectionSpec, u32 } from '../../src/index.js';

const reason = rootSkipReason('loads eBPF programs');

const spec = readCollectionSpec(fileURLToPath(new URL('../fixtures/frozen.o', import.meta.url)));

/** A 64-byte packet whose first byte is `first`. */
function packet(first: number): Uint8Array {
  const out = new Uint8Array(64);
  out[0] = first;
  return out;
}

/** The error `fn` throws. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe.skipIf(reason)(`frozen .rodata as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const collections: Collection[] = [];
  afterEach(() => {
    for (const c of collections.splice(0)) c.close();
  });
  function load(s: CollectionSpec, options: Parameters<typeof loadCollection>[1] = {}): Collection {
    const c = loadCollection(s, options);
    collections.push(c);
    return c;
  }

  it('loads a program whose unsafe branch only the known constant rules out, and runs it', () => {
    expect(spec.maps['.rodata']?.freeze).toBe(true);
    const c = load(spec);
    const program = c.program('xdp_first_byte');
    expect(program.testRun({ data: packet(0xff) }).retval).toBe(1); // XDP_DROP
    expect(program.testRun({ data: packet(0x45) }).retval).toBe(2); // XDP_PASS
  });

  it('the same program is refused when .rodata is not frozen: the verifier names the unchecked read', () => {
    const unfrozen: CollectionSpec = { ...spec, maps: { ...spec.maps, '.rodata': { ...spec.maps['.rodata']!, freeze: false } } };
    const error = thrown(() => load(unfrozen));
    expect(error).toBeInstanceOf(BpfError);
    expect((error as BpfError).errno).toBe('EACCES');
    expect((error as BpfError).log).toMatch(/invalid access to packet/);
  });

  it('rewriting the constant to take the unsafe branch makes the verifier refuse it', () => {
    const error = thrown(() => load(spec, { constants: { bounds_checked: 0 } }));
    expect(error).toBeInstanceOf(BpfError);
    expect((error as BpfError).operation).toBe('BPF_PROG_LOAD xdp_first_byte');
    // The log's last lines name the failing instruction: the load of the packet's first byte.
    expect((error as BpfError).log).toMatch(/r1 = \*\(u8 \*\)\(r1 \+0\)\s*\ninvalid access to packet/);
  });

  it('user space can read the frozen .rodata but no longer write it; bpftool shows it frozen', () => {
    const c = load(spec);
    const rodata = c.map('.rodata', { key: u32, value: bytes(4) });
    expect(rodata.lookup(0)).toEqual(new Uint8Array([1, 0, 0, 0]));
    expect(() => rodata.update(0, new Uint8Array([0, 0, 0, 0]))).toThrowError(expect.objectContaining({ name: 'BpfError', errno: 'EPERM' }));
    expect(rodata.lookup(0)).toEqual(new Uint8Array([1, 0, 0, 0]));
    const shown = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'show', 'id', String(c.maps['.rodata']!.info().id)], { encoding: 'utf8' })) as { frozen?: number; name: string };
    expect(shown).toMatchObject({ name: '.rodata', frozen: 1 });
    // .data stays writable.
    const globals = load(readCollectionSpec(fileURLToPath(new URL('../fixtures/globals.o', import.meta.url))));
    const data = globals.map('.data', { key: u32, value: u32 });
    data.update(0, 7);
    expect(data.lookup(0)).toBe(7);
  });
});
