/**
 * Loading a {@link CollectionSpec}: maps first (pinned ones reused when compatible, or
 * replaced beside their pins when asked), then the BTF, then each program with its map
 * references resolved. All or nothing: a failure closes what was made and removes the
 * pins this load added.
 */
import type { Layout } from '../codec/layout.js';
import { type ConstantValue, rewriteConstants } from '../elf/constants.js';
import type { CollectionSpec, MapSpec, ProgramSpec } from '../elf/spec.js';
import { BpfError, CollectionError } from '../errors.js';
import type { MapFd } from '../fd.js';
import { type Btf, loadBtf } from '../btf/btf.js';
import { mapCreate, mapUpdate } from '../internal/sys/syscall.js';
import { MapHandle } from '../map/handle.js';
import { BpfMap, checkLayouts, unsupportedOr } from '../map/map.js';
import { isPerCpu, mapTypeName } from '../map/map-type.js';
import { openPinnedMapHandle } from '../map/open.js';
import { type Program, loadProgram } from '../program/program.js';
import { layoutSources, pinDifferences } from './pin-match.js';
import { type PinFolder, bpffsFolder } from './sys/bpffs.js';

/** Options of {@link loadCollection}. */
export interface LoadCollectionOptions {
  /**
   * The bpffs folder for maps pinned by name (`LIBBPF_PIN_BY_NAME`), such as
   * `/sys/fs/bpf/twill`; created when missing. A map already pinned there is reused
   * (its contents kept) when its type, sizes, max entries and flags match.
   */
  pinPath?: string;
  /** Values for global variables, applied with {@link rewriteConstants} before load. */
  constants?: Readonly<Record<string, ConstantValue>>;
  /** Verifier log level kept on success (see {@link LoadProgramOptions.logLevel}). */
  logLevel?: 0 | 1 | 2;
  /**
   * What to do with a map pinned under `pinPath` that does not match its spec (another
   * version of the object pinned it). `'fail'` (the default) throws. `'replace'` creates
   * the map anew and pins it at a staged path beside the old pin: this collection's
   * programs use the new map, while programs loaded before keep the pinned one. See
   * {@link ReplacedPin} and {@link Collection.commitReplacedPins}.
   */
  onIncompatiblePin?: 'fail' | 'replace';
  /** The bpffs side of pinning; tests may substitute it. */
  pinFolder?: PinFolder;
}

/**
 * A pinned map that did not match its spec and was created anew
 * (`onIncompatiblePin: 'replace'`). Until {@link Collection.commitReplacedPins} the old
 * map stays pinned at `path` and open as `previous` (copy what is worth keeping with
 * {@link copyMapEntries}), and the new one is pinned at `stagedPath`.
 */
export interface ReplacedPin {
  /** The map's name in the spec. */
  readonly name: string;
  /** `<pinPath>/<name>`: the old map's pin, and the new one's after the commit. */
  readonly path: string;
  /** `<pinPath>/<name>__next`: the new map's pin until the commit (bpffs refuses dots in names). */
  readonly stagedPath: string;
  /** How the pinned map differs from the spec, in words: `max entries 1048576 (the spec says 4194304)`. */
  readonly differences: string;
  /**
   * What differs: `type`, `key size`, `value size`, `max entries`, `flags`, and, when
   * both have BTF and the sizes match, `key layout` or `value layout` (members,
   * offsets, types). Only `max entries` and `flags` leave the entries' bytes meaning the same.
   */
  readonly fields: readonly string[];
  /** The pinned map, open until the commit or {@link Collection.close}. */
  readonly previous: MapHandle;
  /**
   * Whether a map already pinned at `stagedPath` matched the spec and was adopted instead
   * of created: a load that died before its commit staged it, and may have moved programs
   * to it, so its entries are the current ones (copying `previous` over them would roll
   * them back).
   */
  readonly stagedReused: boolean;
}

/** Where a replacing map is pinned until {@link Collection.commitReplacedPins}. */
export function pinPathForStaging(path: string): string {
  return `${path}__next`;
}

/** Loaded programs and maps. {@link Collection.close} releases them all. */
export class Collection {
  /** Loaded programs by name. */
  readonly programs: Readonly<Record<string, Program>>;
  /** Maps by name. */
  readonly maps: Readonly<Record<string, MapHandle>>;
  /** Where each pinned map is, by map name. */
  readonly pins: Readonly<Record<string, string>>;
  /** Maps that were already pinned and were reused rather than created. */
  readonly reusedMaps: readonly string[];
  /** Pinned maps that did not match their spec and were created anew (`onIncompatiblePin: 'replace'`). */
  readonly replacedPins: readonly ReplacedPin[];
  readonly #btf: Btf | undefined;
  readonly #folder: PinFolder;
  readonly #committed = new Set<string>();
  #closed = false;

  constructor(parts: {
    programs: Record<string, Program>;
    maps: Record<string, MapHandle>;
    pins: Record<string, string>;
    reused: string[];
    replaced?: ReplacedPin[];
    btf?: Btf;
    folder?: PinFolder;
  }) {
    this.programs = parts.programs;
    this.maps = parts.maps;
    this.pins = parts.pins;
    this.reusedMaps = parts.reused;
    this.replacedPins = parts.replaced ?? [];
    this.#btf = parts.btf;
    this.#folder = parts.folder ?? bpffsFolder;
  }

  /**
   * Moves each replacing map's pin over the old map's (`rename(2)`: the path never lacks
   * a pin) and closes the old map, which the kernel frees once no program uses it. Call
   * it after whatever ran the old programs runs this collection's (for links,
   * {@link Link.update}). Twice does nothing.
   * @throws {CollectionError} naming the pin that could not be moved; the others are moved.
   */
  commitReplacedPins(): void {
    const failures: string[] = [];
    for (const replaced of this.replacedPins) {
      if (this.#committed.has(replaced.name)) continue;
      try {
        this.#folder.rename(replaced.stagedPath, replaced.path);
        this.#committed.add(replaced.name);
        replaced.previous.close();
      } catch (error) {
        failures.push(`${replaced.stagedPath} -> ${replaced.path}: ${(error as Error).message}`);
      }
    }
    if (failures.length > 0) throw new CollectionError(`moving replacing pins: ${failures.join('; ')}`);
  }

  /** Whether {@link close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** A program by name. @throws {CollectionError} when there is none. */
  program(name: string): Program {
    const program = Object.hasOwn(this.programs, name) ? this.programs[name] : undefined;
    if (!program) throw new CollectionError(`no program ${JSON.stringify(name)} (there are: ${Object.keys(this.programs).join(', ')})`);
    return program;
  }

  /**
   * A typed view of a map, checked against its sizes. The view shares the collection's
   * fd: closing the view does nothing, and it stops working when the collection closes.
   * @throws {CollectionError} for an unknown name. @throws {LayoutError} for other sizes.
   */
  map<K, V>(name: string, layouts: { key: Layout<K>; value: Layout<V> }): BpfMap<K, V> {
    const handle = Object.hasOwn(this.maps, name) ? this.maps[name] : undefined;
    if (!handle) throw new CollectionError(`no map ${JSON.stringify(name)} (there are: ${Object.keys(this.maps).join(', ')})`);
    const info = handle.info();
    if (isPerCpu(info.type)) throw new CollectionError(`map ${name} is a ${mapTypeName(info.type)} map: use maps[name] and openPinnedPerCpuMap`);
    checkLayouts(name, info, layouts.key, layouts.value);
    return new MapView(handle, info, layouts.key, layouts.value);
  }

  /**
   * Closes every program, map and the BTF. Pinned maps stay in bpffs (that is what
   * pinning is for); programs stay loaded only while attached or pinned. Replacing maps
   * not committed lose their staged pins (the old pins stay). Twice does nothing.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // A staged pin is removed only while it still holds this load's map: another load
    // may have replaced or adopted it since.
    const ours = this.replacedPins.filter((r) => !this.#committed.has(r.name) && holdsMap(r.stagedPath, this.maps[r.name]));
    for (const program of Object.values(this.programs)) program.close();
    for (const map of Object.values(this.maps)) map.close();
    for (const replaced of this.replacedPins) replaced.previous.close();
    for (const replaced of ours) this.#folder.unpin(replaced.stagedPath);
    this.#btf?.close();
  }

  /** Closes the collection (`using` declarations). */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** A typed map sharing a collection's map fd. */
class MapView<K, V> extends BpfMap<K, V> {
  readonly #owner: MapHandle;

  constructor(owner: MapHandle, shape: ConstructorParameters<typeof BpfMap>[1], key: Layout<K>, value: Layout<V>) {
    super(owner.fd, shape, key, value);
    this.#owner = owner;
  }

  override get fd(): MapFd {
    return this.#owner.fd; // throws once the collection has closed it
  }

  override close(): void {
    // The collection owns the fd.
  }
}

/** A kernel object name: at most 15 of `[A-Za-z0-9_.]`, as libbpf truncates it. */
function kernelName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.]/g, '_').slice(0, 15);
}

function createSpecMap(spec: MapSpec, btf: Btf | undefined): MapHandle {
  const base = { mapType: spec.type, keySize: spec.keySize, valueSize: spec.valueSize, maxEntries: spec.maxEntries, flags: spec.flags, name: kernelName(spec.name) };
  let fd: MapFd;
  try {
    fd = btf && spec.btf ? mapCreate({ ...base, btfFd: btf.fd, btfKeyTypeId: spec.btf.keyTypeId, btfValueTypeId: spec.btf.valueTypeId }) : mapCreate(base);
  } catch (error) {
    // A kernel that refuses the BTF of a map still takes the map without it.
    if (!(btf && spec.btf && error instanceof BpfError && error.errno === 'EINVAL')) throw unsupportedOr(spec.type, error);
    try {
      fd = mapCreate(base);
    } catch (retry) {
      throw unsupportedOr(spec.type, retry);
    }
  }
  const handle = new MapHandle(fd);
  try {
    if (spec.contents) mapUpdate(fd, new Uint8Array(4), spec.contents, 0n);
    // After the constants are written and before any program loads: the verifier then
    // reads them as known values (5.2).
    if (spec.freeze) handle.freeze();
  } catch (error) {
    handle.close();
    throw error;
  }
  return handle;
}

function encodeFuncInfo(spec: ProgramSpec): Uint8Array | undefined {
  if (!spec.funcInfo?.length) return undefined;
  const out = new Uint8Array(spec.funcInfo.length * 8);
  const v = new DataView(out.buffer);
  spec.funcInfo.forEach((r, i) => {
    v.setUint32(i * 8, r.insnOffset, true);
    v.setUint32(i * 8 + 4, r.typeId, true);
  });
  return out;
}

function encodeLineInfo(spec: ProgramSpec): Uint8Array | undefined {
  if (!spec.lineInfo?.length) return undefined;
  const out = new Uint8Array(spec.lineInfo.length * 16);
  const v = new DataView(out.buffer);
  spec.lineInfo.forEach((r, i) => {
    v.setUint32(i * 16, r.insnOffset, true);
    v.setUint32(i * 16 + 4, r.fileNameOffset, true);
    v.setUint32(i * 16 + 8, r.lineOffset, true);
    v.setUint32(i * 16 + 12, r.lineColumn, true);
  });
  return out;
}

function loadSpecProgram(spec: ProgramSpec, maps: Record<string, MapHandle>, btf: Btf | undefined, logLevel: 0 | 1 | 2 | undefined): Program {
  const funcInfo = btf ? encodeFuncInfo(spec) : undefined;
  const lineInfo = btf ? encodeLineInfo(spec) : undefined;
  return loadProgram({
    type: spec.type,
    instructions: spec.instructions,
    license: spec.license,
    name: kernelName(spec.name),
    expectedAttachType: spec.attachType,
    flags: spec.flags,
    maps,
    logLevel,
    ...(btf && funcInfo ? { btf: { fd: btf.fd, funcInfo, funcInfoRecordSize: 8, lineInfo, lineInfoRecordSize: lineInfo ? 16 : undefined } } : {}),
  });
}

function tryLoadBtf(raw: Uint8Array | undefined): Btf | undefined {
  if (!raw) return undefined;
  try {
    return loadBtf(raw);
  } catch (error) {
    // Without BTF (before 4.18, or BTF this kernel refuses) maps and programs still load, without type info.
    if (error instanceof BpfError) return undefined;
    throw error;
  }
}

/**
 * Loads a collection: creates its maps (or reuses those already pinned by name under
 * `pinPath`, so their contents survive a restart), writes the data sections' contents,
 * loads the BTF (4.18; skipped when the kernel refuses it) and each program with its
 * map references resolved and its BTF function and line info (5.0).
 *
 * All or nothing: when anything fails, every fd made is closed, every pin this call
 * made is removed, and a pin folder it created is removed again.
 *
 * Needs CAP_BPF and the kernel of each map and program type; pinning needs bpffs.
 * @throws {BpfError} from the kernel, with the verifier log for a refused program.
 * @throws {CollectionError} for a pinned map that does not match its spec (unless
 *   `onIncompatiblePin` is `'replace'`), a map pinned by name without `pinPath`, an
 *   unknown constant.
 * @throws {UnsupportedFeatureError} when the kernel lacks a map or program type.
 */
export function loadCollection(spec: CollectionSpec, options: LoadCollectionOptions = {}): Collection {
  const folder = options.pinFolder ?? bpffsFolder;
  const effective = options.constants ? rewriteConstants(spec, options.constants) : spec;
  const maps: Record<string, MapHandle> = {};
  const programs: Record<string, Program> = {};
  const pins: Record<string, string> = {};
  const reused: string[] = [];
  const replaced: ReplacedPin[] = [];
  const newPins: string[] = [];
  let createdFolder = false;
  let btf: Btf | undefined;
  const sources = layoutSources(effective.btf);
  try {
    btf = tryLoadBtf(effective.btf);
    for (const map of Object.values(effective.maps)) {
      if (map.pinning !== 'by-name') {
        maps[map.name] = createSpecMap(map, btf);
        continue;
      }
      if (!options.pinPath) throw new CollectionError(`map ${map.name} is pinned by name: give a pinPath`);
      createdFolder = folder.ensure(options.pinPath) || createdFolder;
      const path = `${options.pinPath}/${map.name}`;
      pins[map.name] = path;
      const existing = openPinned(path);
      let differences: ReturnType<typeof pinDifferences> | undefined;
      try {
        differences = existing && pinDifferences(map, existing, sources);
      } catch (error) {
        existing?.close();
        throw error;
      }
      if (existing && differences === undefined) {
        maps[map.name] = existing;
        reused.push(map.name);
        continue;
      }
      if (existing && differences !== undefined) {
        if (options.onIncompatiblePin !== 'replace') {
          existing.close();
          throw new CollectionError(`map ${map.name} pinned at ${path} does not match: ${differences.text}. Remove the pin to recreate it, or load with onIncompatiblePin: 'replace'.`);
        }
        const staged = pinPathForStaging(path);
        // A staged pin left by a load that never committed: when it matches, programs may
        // run with it already (that load moved its links, then died), so it is the current map.
        const leftover = adoptStaged(map, staged, sources);
        if (leftover !== undefined) {
          replaced.push({ name: map.name, path, stagedPath: staged, differences: differences.text, fields: differences.fields, previous: existing, stagedReused: true });
          maps[map.name] = leftover;
          continue;
        }
        folder.unpin(staged);
        replaced.push({ name: map.name, path, stagedPath: staged, differences: differences.text, fields: differences.fields, previous: existing, stagedReused: false });
        const handle = createSpecMap(map, btf);
        maps[map.name] = handle;
        handle.pin(staged);
        newPins.push(staged);
        continue;
      }
      const handle = createSpecMap(map, btf);
      maps[map.name] = handle;
      handle.pin(path);
      newPins.push(path);
    }
    for (const program of Object.values(effective.programs)) {
      programs[program.name] = loadSpecProgram(program, maps, btf, options.logLevel);
    }
  } catch (error) {
    for (const program of Object.values(programs)) program.close();
    for (const map of Object.values(maps)) map.close();
    for (const r of replaced) r.previous.close();
    btf?.close();
    for (const path of newPins) folder.unpin(path);
    if (createdFolder && options.pinPath) folder.removeIfEmpty(options.pinPath);
    throw error;
  }
  return new Collection({ programs, maps, pins, reused, replaced, btf, folder });
}

// Whether the map pinned at a path is this one (by map id); false when none is, or unreadable.
function holdsMap(path: string, map: MapHandle | undefined): boolean {
  if (map === undefined) return false;
  try {
    const pinned = openPinned(path);
    if (pinned === undefined) return false;
    try {
      return pinned.info().id === map.info().id;
    } finally {
      pinned.close();
    }
  } catch {
    return false;
  }
}

// The map pinned at a staging path when it matches its spec; a mismatching one is left for the caller to unpin.
function adoptStaged(map: MapSpec, staged: string, sources: Parameters<typeof pinDifferences>[2]): MapHandle | undefined {
  const handle = openPinned(staged);
  if (handle === undefined) return undefined;
  try {
    if (pinDifferences(map, handle, sources) === undefined) return handle;
  } catch {
    // Unreadable: treated as not matching, so it is replaced.
  }
  handle.close();
  return undefined;
}

function openPinned(path: string): MapHandle | undefined {
  try {
    return openPinnedMapHandle(path);
  } catch (error) {
    if (error instanceof BpfError && error.isNotFound) return undefined;
    throw error;
  }
}

