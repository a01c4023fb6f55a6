// The layout string of a BTF type: alike for the same members at the same offsets,
// different for swapped fields of the same sizes (test/fixtures/layout.c and
// layout-swapped.c).
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { readCollectionSpec } from '../../src/index.js';
import { btfLayout } from '../../src/elf/btf-layout.js';
import { decodeBtf } from '../../src/elf/btf-types.js';

function layouts(name: string): { key: string; value: string } {
  const spec = readCollectionSpec(fileURLToPath(new URL(`../fixtures/${name}.o`, import.meta.url)));
  const btf = decodeBtf(spec.btf!);
  const map = spec.maps.layout!;
  return { key: btfLayout(btf, map.btf!.keyTypeId), value: btfLayout(btf, map.btf!.valueTypeId) };
}

describe('btfLayout', () => {
  it('gives members with bit offsets through typedefs (__u32 is an integer of 4 bytes)', () => {
    expect(layouts('layout')).toEqual({ key: 'i4', value: 'struct value{bytes@0:i4,packets@32:i4}8' });
  });

  it('tells swapped fields of the same sizes apart', () => {
    expect(layouts('layout-swapped').value).toBe('struct value{packets@0:i4,bytes@32:i4}8');
    expect(layouts('layout-swapped').key).toBe(layouts('layout').key);
  });
});
