/**
 * `@twill/ebpf`: eBPF from TypeScript, with no libbpf and no bpftool at run time.
 *
 * - Maps with typed keys and values ({@link createMap}, layouts such as {@link struct},
 *   {@link u32}, {@link lpmKey}), iteration, batches, pinning ({@link openPinnedMap}).
 * - Programs from an instruction builder ({@link ProgramBuilder}) with the verifier log on
 *   failure ({@link loadProgram}), and {@link testRun} to run one on a packet.
 * - Feature probes ({@link haveMapType}, {@link haveTcx}, {@link probeFeatures}).
 * - An ELF loader for clang-built objects: {@link decodeCollectionSpec} (pure) and
 *   {@link loadCollection}, with pinned maps reused across loads and `.rodata` frozen.
 * - Links: {@link attachTcx} (or {@link attachTc} with the clsact fallback), {@link attachXdp},
 *   {@link attachCgroup}; pinned with `link.pin`, detached on close.
 * - {@link openRingBufferReader}: ring buffer records, woken by the kernel (epoll), a
 *   bounded batch per wakeup, never blocking the event loop.
 *
 * Every failure is an {@link EbpfError}: a {@link BpfError} with the errno and the verifier
 * log, an {@link UnsupportedFeatureError} naming the Linux version needed.
 * @packageDocumentation
 */
export {
  EbpfErrorCode,
  EbpfError,
  BpfError,
  UnsupportedFeatureError,
  AsmError,
  LayoutError,
  ElfError,
  CollectionError,
} from './errors.js';
export type { MapFd, ProgramFd, LinkFd, BtfFd } from './fd.js';

export {
  type Layout,
  type LayoutValue,
  u8,
  u16,
  u32,
  u64,
  i8,
  i16,
  i32,
  i64,
  be16,
  be32,
  encodeLayout,
  decodeLayout,
} from './codec/layout.js';
export {
  type Padding,
  type StructFields,
  type StructValue,
  type StructLayout,
  type LpmKey,
  struct,
  array,
  bytes,
  pad,
  ipv4,
  ipv6,
  lpmKey,
} from './codec/compound.js';

export { MapType, type PerCpuMapType, mapTypeMinimumKernel } from './map/map-type.js';
export { MapHandle, type MapInfo } from './map/handle.js';
export {
  BpfMap,
  type CreateMapOptions,
  type KeyValueMapType,
  type MapShape,
  type MapValue,
  type UpdateMode,
  createMap,
} from './map/map.js';
export {
  type OpenPinnedMapOptions,
  openPinnedMap,
  openPinnedPerCpuMap,
  openPinnedMapHandle,
} from './map/open.js';
export { RingBufferMap, type CreateRingBufferOptions, createRingBuffer } from './map/ring-buffer.js';
export { ProgramArray, createProgramArray } from './map/program-array.js';
export { type CopyMapEntriesOptions, type CopyMapEntriesResult, copyMapEntries } from './map/copy.js';

export { R, type Register } from './asm/register.js';
export { Helper, type HelperName, helperId } from './asm/helpers.js';
export { type AluOp, type ConditionalJump, type MemorySize } from './asm/opcodes.js';
export {
  type Instruction,
  type MapReference,
  encodeInstructions,
  decodeInstructions,
} from './asm/instruction.js';
export { ProgramBuilder, type Operand } from './asm/builder.js';

export { ProgramType, AttachType, programTypeMinimumKernel } from './program/program-type.js';
export { Program, type ProgramInfo, type ProgramBtf, type LoadProgramOptions, loadProgram } from './program/program.js';
export { type TestRunOptions, type TestRunResult, testRun } from './program/test-run.js';
export { Btf, loadBtf } from './btf/btf.js';

export { haveMapType, requireMapType } from './features/map-types.js';
export { haveProgramType, requireProgramType } from './features/program-types.js';
export { type BatchOp, haveBatchOp } from './features/batch.js';
export { haveLinkCreate, haveTcx, requireTcx } from './features/links.js';
export { type FeatureReport, probeFeatures } from './features/summary.js';

export type {
  CollectionSpec,
  MapSpec,
  MapPinning,
  ProgramSpec,
  VariableSpec,
  FuncInfo,
  LineInfo,
} from './elf/spec.js';
export { decodeCollectionSpec } from './elf/decode.js';
export { type ConstantValue, rewriteConstants } from './elf/constants.js';
export { readCollectionSpec } from './elf/sys/read-object.js';
export { Collection, type LoadCollectionOptions, type ReplacedPin, loadCollection, pinPathForStaging } from './collection/collection.js';
export type { PinFolder } from './collection/sys/bpffs.js';

export { Link, type Attachment, openPinnedLink, unpinLink } from './link/link.js';
export { LinkType, type LinkInfo } from './link/link-info.js';
export {
  attachTcx,
  attachTc,
  type AttachTcxOptions,
  type AttachTcOptions,
  type TcxAnchor,
  type TcxPlacement,
  type TcMechanism,
  type TcDirection,
} from './link/tcx.js';
export { TcFilter, attachTcFilter, type AttachTcFilterOptions } from './link/tc-filter.js';
export { attachXdp, type AttachXdpOptions } from './link/xdp.js';
export { attachCgroup, type AttachCgroupOptions } from './link/cgroup.js';
export { AttachFlag, XdpFlag, type XdpMode } from './link/flags.js';
export { interfaceIndex } from './link/interface.js';
export { NetlinkError } from './link/errors.js';

export {
  RingBufferReader,
  openRingBufferReader,
  type RingBufferReaderOptions,
  type LostEvents,
  type WatchRing,
  type ReadinessWatch,
  type RingBufferSource,
} from './ringbuf/reader.js';
export { type RingMemory } from './ringbuf/records.js';
