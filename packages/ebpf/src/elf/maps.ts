/**
 * Map definitions of an object: BTF-defined maps in `.maps` (the struct libbpf's
 * `__uint`/`__type` macros declare), legacy `struct bpf_map_def` in `maps`, and the data
 * sections `.rodata`, `.data` and `.bss`, each an array map of one element. Pure.
 */
import { ElfError } from '../errors.js';
import { MapFlag } from '../internal/sys/commands.js';
import { MapType } from '../map/map-type.js';
import { type Btf, BtfKind, type BtfType, btfSizeOf, btfType, findDatasec, skipQualifiers } from './btf-types.js';
import { type ElfFile, type ElfSection, SectionType, SymbolType, sectionBytes } from './elf-file.js';
import type { MapPinning, MapSpec, VariableSpec } from './spec.js';

/** `LIBBPF_PIN_NONE` and `LIBBPF_PIN_BY_NAME` (tools/lib/bpf/libbpf.h). */
const pinnings: readonly MapPinning[] = ['none', 'by-name'];

/** Whether a section holds initialised or zeroed global data that becomes an array map. */
export function isDataSection(section: ElfSection): boolean {
  const { name } = section;
  const data = name === '.data' || name === '.bss' || name === '.rodata' || name.startsWith('.data.') || name.startsWith('.rodata.');
  return data && (section.type === SectionType.PROGBITS || section.type === SectionType.NOBITS);
}

/** `__uint(name, value)` is `int (*name)[value]`: the array's element count. */
function uintMember(btf: Btf, map: string, member: string, typeId: number): number {
  const pointer = skipQualifiers(btf, typeId);
  const array = pointer.kind === BtfKind.PTR ? skipQualifiers(btf, pointer.sizeOrType) : undefined;
  if (!array?.array) throw new ElfError(`map ${map}: member ${member} is not declared with __uint()`, '.maps');
  return array.array.count;
}

/** `__type(name, T)` is `typeof(T) *name`: the pointed-to type's id. */
function typeMember(btf: Btf, map: string, member: string, typeId: number): number {
  const pointer = skipQualifiers(btf, typeId);
  if (pointer.kind !== BtfKind.PTR) throw new ElfError(`map ${map}: member ${member} is not declared with __type()`, '.maps');
  return pointer.sizeOrType;
}

function checkKeySize(spec: MapSpec): MapSpec {
  const arrays: readonly number[] = [MapType.Array, MapType.PerCpuArray, MapType.ProgramArray, MapType.PerfEventArray, MapType.ArrayOfMaps];
  if (arrays.includes(spec.type) && spec.keySize !== 4) {
    throw new ElfError(`map ${spec.name}: array maps have 4-byte keys, not ${spec.keySize}`, spec.section);
  }
  return spec;
}

function btfMap(btf: Btf, variable: BtfType): MapSpec {
  const name = variable.name;
  const struct = skipQualifiers(btf, variable.sizeOrType);
  if (struct.kind !== BtfKind.STRUCT || !struct.members) throw new ElfError(`map ${name} is not a struct`, '.maps');
  const fields: Record<string, number> = {};
  let keyTypeId: number | undefined;
  let valueTypeId: number | undefined;
  for (const member of struct.members) {
    switch (member.name) {
      case 'type':
      case 'key_size':
      case 'value_size':
      case 'max_entries':
      case 'map_flags':
      case 'pinning':
      case 'numa_node':
        fields[member.name] = uintMember(btf, name, member.name, member.type);
        break;
      case 'key':
        keyTypeId = typeMember(btf, name, member.name, member.type);
        break;
      case 'value':
        valueTypeId = typeMember(btf, name, member.name, member.type);
        break;
      case 'values':
        throw new ElfError(`map ${name}: initial values (map-in-map, program arrays) are not supported`, '.maps');
      default:
        throw new ElfError(`map ${name}: unknown member ${JSON.stringify(member.name)}`, '.maps');
    }
  }
  const sizeOf = (what: 'key' | 'value', typeId: number | undefined): number => {
    const declared = fields[`${what}_size`];
    if (typeId === undefined) return declared ?? 0;
    const size = btfSizeOf(btf, typeId);
    if (declared !== undefined && declared !== size) {
      throw new ElfError(`map ${name}: ${what}_size ${declared} does not match the ${what} type's size ${size}`, '.maps');
    }
    return size;
  };
  const keySize = sizeOf('key', keyTypeId);
  const valueSize = sizeOf('value', valueTypeId);
  if (fields.type === undefined) throw new ElfError(`map ${name} has no type`, '.maps');
  const pinning = pinnings[fields.pinning ?? 0];
  if (!pinning) throw new ElfError(`map ${name}: pinning ${fields.pinning} is not LIBBPF_PIN_NONE or LIBBPF_PIN_BY_NAME`, '.maps');
  return checkKeySize({
    name,
    section: '.maps',
    type: fields.type,
    keySize,
    valueSize,
    maxEntries: fields.max_entries ?? 0,
    flags: fields.map_flags ?? 0,
    pinning,
    ...(keyTypeId !== undefined && valueTypeId !== undefined ? { btf: { keyTypeId, valueTypeId } } : {}),
  });
}

/** BTF-defined maps: every variable of the `.maps` `DATASEC`. */
function btfMaps(file: ElfFile, btf: Btf | undefined): MapSpec[] {
  if (!file.sections.some((s) => s.name === '.maps')) return [];
  if (!btf) throw new ElfError('BTF-defined maps need the .BTF section (build with -g)', '.maps');
  const datasec = findDatasec(btf, '.maps');
  if (!datasec) throw new ElfError('no .maps DATASEC in the BTF', '.maps');
  return datasec.secinfo!.map((info) => {
    const variable = btfType(btf, info.type);
    if (variable.kind !== BtfKind.VAR) throw new ElfError(`entry ${info.type} is not a variable`, '.maps');
    return btfMap(btf, variable);
  });
}

/** `struct bpf_map_def`: type, key_size, value_size, max_entries, map_flags (u32 each). */
const MAP_DEF_SIZE = 20;

function legacyMaps(file: ElfFile): MapSpec[] {
  const section = file.sections.find((s) => s.name === 'maps');
  if (!section) return [];
  const data = sectionBytes(file, section);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const symbols = file.symbols.filter((s) => s.section === section.index && s.type !== SymbolType.SECTION && s.name);
  return symbols.map((symbol) => {
    const size = symbol.size || MAP_DEF_SIZE;
    if (size < MAP_DEF_SIZE || symbol.value + size > data.byteLength) {
      throw new ElfError(`map ${symbol.name}: ${size} bytes at ${symbol.value} is not a struct bpf_map_def`, 'maps');
    }
    // Fields past map_flags (iproute2's id and pinning) must be zero: they would be ignored.
    for (let i = symbol.value + MAP_DEF_SIZE; i < symbol.value + size; i += 1) {
      if (data[i] !== 0) throw new ElfError(`map ${symbol.name}: fields after map_flags are not supported`, 'maps');
    }
    const at = symbol.value;
    return checkKeySize({
      name: symbol.name,
      section: 'maps',
      type: v.getUint32(at, true),
      keySize: v.getUint32(at + 4, true),
      valueSize: v.getUint32(at + 8, true),
      maxEntries: v.getUint32(at + 12, true),
      flags: v.getUint32(at + 16, true),
      pinning: 'none',
    });
  });
}

function dataMaps(file: ElfFile, btf: Btf | undefined): MapSpec[] {
  return file.sections.filter((s) => isDataSection(s) && s.size > 0).map((section) => {
    const variables: [string, VariableSpec][] = file.symbols
      .filter((s) => s.section === section.index && s.type === SymbolType.OBJECT && s.name)
      .map((s) => {
        if (s.value + s.size > section.size) throw new ElfError(`variable ${s.name} runs past the section's end`, section.name);
        return [s.name, { offset: s.value, size: s.size }];
      });
    variables.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const datasec = btf ? findDatasec(btf, section.name) : undefined;
    return {
      name: section.name,
      section: section.name,
      type: MapType.Array,
      keySize: 4,
      valueSize: section.size,
      maxEntries: 1,
      // Programs may not write constants (5.2); the syscall side writes them before load.
      flags: section.name.startsWith('.rodata') ? MapFlag.RDONLY_PROG : 0,
      pinning: 'none' as const,
      ...(datasec ? { btf: { keyTypeId: 0, valueTypeId: datasec.id } } : {}),
      contents: sectionBytes(file, section).slice(),
      variables: Object.fromEntries(variables),
      // Frozen once written, so the verifier knows the constants (as libbpf does).
      ...(section.name.startsWith('.rodata') ? { freeze: true } : {}),
    };
  });
}

/**
 * Every map the object defines, sorted by name.
 * @throws {ElfError} for contradictory or unsupported definitions (a `key_size` that
 *   disagrees with the key type, unknown members, array maps with other than 4-byte keys,
 *   two maps of one name).
 */
export function decodeMaps(file: ElfFile, btf: Btf | undefined): MapSpec[] {
  const maps = [...btfMaps(file, btf), ...legacyMaps(file), ...dataMaps(file, btf)];
  maps.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  maps.forEach((map, i) => {
    if (i > 0 && maps[i - 1]!.name === map.name) throw new ElfError(`two maps are named ${map.name}`, map.section);
  });
  return maps;
}
