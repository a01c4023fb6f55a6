/**
 * `decodeCollectionSpec`: an object file built by `clang -O2 -g -target bpf`, as bytes,
 * to a {@link CollectionSpec}. Pure and deterministic: the same bytes give the same spec
 * on every host; nothing here touches the kernel.
 */
import { ElfError } from '../errors.js';
import { decodeBtfExt } from './btf-ext.js';
import { type Btf, decodeBtf, fixupDatasecs } from './btf-types.js';
import { type ElfFile, SymbolType, decodeElf, sectionBytes } from './elf-file.js';
import { decodeMaps } from './maps.js';
import { decodePrograms } from './programs.js';
import type { CollectionSpec } from './spec.js';

function readLicense(file: ElfFile): string | undefined {
  const section = file.sections.find((s) => s.name === 'license');
  if (!section) return undefined;
  const bytes = sectionBytes(file, section);
  const end = bytes.indexOf(0);
  if (end < 0) throw new ElfError('the license is not NUL-terminated', 'license');
  return new TextDecoder().decode(bytes.subarray(0, end));
}

function readBtf(file: ElfFile): { btf: Btf; fixed: Uint8Array } | undefined {
  const section = file.sections.find((s) => s.name === '.BTF');
  if (!section) return undefined;
  const btf = decodeBtf(sectionBytes(file, section));
  const fixed = fixupDatasecs(btf, {
    sectionSize: (name) => file.sections.find((s) => s.name === name)?.size,
    symbolOffset: (sectionName, name) => {
      const index = file.sections.findIndex((s) => s.name === sectionName);
      return file.symbols.find((s) => s.section === index && s.name === name && s.type !== SymbolType.SECTION)?.value;
    },
  });
  return { btf, fixed };
}

/**
 * Decodes a BPF object file into a {@link CollectionSpec}: its programs (by function
 * name, linked with the `.text` functions they call, map references by name), its maps
 * (BTF-defined in `.maps`, legacy in `maps`, and `.rodata`/`.data`/`.bss` as one-element
 * array maps), the license and the BTF to load with them.
 *
 * Parsing needs no kernel; loading ({@link loadCollection}) needs the program and map types'.
 * @throws {ElfError} for input that is not such an object or that it cannot represent:
 *   truncated or corrupt ELF, the wrong class or byte order, offsets out of range, an
 *   unknown program section name, a missing license, map definitions that contradict
 *   themselves (a `key_size` different from the key type's size).
 */
export function decodeCollectionSpec(input: Uint8Array): CollectionSpec {
  // A plain view (not a Node Buffer, whose slice() shares memory) so copies are copies.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  try {
    const file = decodeElf(bytes);
    const license = readLicense(file);
    const btf = readBtf(file);
    const extSection = file.sections.find((s) => s.name === '.BTF.ext');
    const ext = btf && extSection ? decodeBtfExt(sectionBytes(file, extSection), btf.btf) : undefined;
    const maps = decodeMaps(file, btf?.btf);
    const programs = decodePrograms(file, ext, license);
    return {
      license: license ?? '',
      programs: Object.fromEntries(programs.map((p) => [p.name, p])),
      maps: Object.fromEntries(maps.map((m) => [m.name, m])),
      ...(btf ? { btf: btf.fixed } : {}),
    };
  } catch (error) {
    if (error instanceof ElfError) throw error;
    // A DataView read past the end, or another slip on input no check foresaw: still an ElfError.
    throw new ElfError(`corrupt object: ${error instanceof Error ? error.message : String(error)}`, undefined, { cause: error });
  }
}
