/** Everything the probes know, in one report. */
import { MapType } from '../map/map-type.js';
import { ProgramType } from '../program/program-type.js';
import { haveBatchOp } from './batch.js';
import { haveLinkCreate, haveTcx } from './links.js';
import { haveMapType } from './map-types.js';
import { haveProgramType } from './program-types.js';

/** What this kernel supports, by {@link MapType} and {@link ProgramType} name. */
export interface FeatureReport {
  /** Whether the kernel can create each map type. */
  mapTypes: Record<keyof typeof MapType, boolean>;
  /** Whether the kernel can load each program type. */
  programTypes: Record<keyof typeof ProgramType, boolean>;
  /** Hash maps have `BPF_MAP_*_BATCH` (5.6). */
  batchOps: boolean;
  /** `BPF_LINK_CREATE` (5.7). */
  linkCreate: boolean;
  /** tcx links (6.6). */
  tcx: boolean;
}

function probeEach<T extends Record<string, number>>(types: T, have: (type: number) => boolean): Record<keyof T, boolean> {
  return Object.fromEntries(Object.entries(types).map(([name, type]) => [name, have(type)])) as Record<keyof T, boolean>;
}

/**
 * Probes every map type, program type and attach mechanism this package knows (each
 * result cached). Needs CAP_BPF.
 * @throws {BpfError} `EPERM` without privileges.
 */
export function probeFeatures(): FeatureReport {
  return {
    mapTypes: probeEach(MapType, haveMapType),
    programTypes: probeEach(ProgramType, haveProgramType),
    batchOps: haveBatchOp(MapType.Hash, 'update'),
    linkCreate: haveLinkCreate(),
    tcx: haveTcx(),
  };
}
