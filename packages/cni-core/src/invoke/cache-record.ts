// libcni's result cache record (`cniCacheV1`, libcni/api.go `cachedInfo`), so that twill
// and a libcni runtime (containerd, CRI-O, cnitool) read each other's cache. The file
// is `<cacheDir>/results/<network>-<containerId>-<ifName>`; `config` holds the network
// configuration bytes in base64 (Go's encoding of []byte).
import { CNI_ERROR, CniError } from '../errors.js';
import { type CacheKey, type CacheRecord } from './types.js';

/** The `kind` of a libcni cache record. */
export const CACHE_KIND = 'cniCacheV1';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The cache file name of a key, as libcni forms it. */
export function cacheFileName(key: CacheKey): string {
  return `${key.networkName}-${key.containerId}-${key.ifName}`;
}

/** Encodes a record as libcni writes it (fields in libcni's order; empty optional fields left out). */
export function encodeCacheRecord(record: CacheRecord): Uint8Array {
  const out: Record<string, unknown> = {
    kind: CACHE_KIND,
    containerId: record.containerId,
    config: Buffer.from(record.config).toString('base64'),
    ifName: record.ifName,
    networkName: record.networkName,
  };
  if (record.netns) out['netns'] = record.netns;
  if (record.cniArgs && record.cniArgs.length > 0) out['cniArgs'] = record.cniArgs;
  if (record.capabilityArgs && Object.keys(record.capabilityArgs).length > 0) {
    out['capabilityArgs'] = record.capabilityArgs;
  }
  if (record.result) out['result'] = record.result;
  return encoder.encode(JSON.stringify(out));
}

// Go's encoding/json matches object keys to struct fields case-insensitively.
function field(object: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(object, name)) return object[name];
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(object)) if (key.toLowerCase() === lower) return value;
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Decodes a cache file. `where` names it in errors.
 *
 * @throws {CniError} code 6 when it is not JSON or not a `cniCacheV1` record.
 */
export function decodeCacheRecord(bytes: Uint8Array, where: string): CacheRecord {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch (error) {
    throw new CniError(CNI_ERROR.DECODE_FAILURE, `${where}: invalid JSON`, (error as Error).message);
  }
  if (!isRecord(value)) throw new CniError(CNI_ERROR.DECODE_FAILURE, `${where}: not a JSON object`);
  const kind = field(value, 'kind');
  if (kind !== CACHE_KIND) {
    throw new CniError(CNI_ERROR.DECODE_FAILURE, `${where}: kind ${JSON.stringify(kind)} is not ${CACHE_KIND}`);
  }
  const text = (name: string): string => {
    const v = field(value, name);
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') throw new CniError(CNI_ERROR.DECODE_FAILURE, `${where}: ${name}: expected a string`);
    return v;
  };
  const args = field(value, 'cniArgs');
  if (
    args !== undefined &&
    args !== null &&
    !(Array.isArray(args) && args.every((p) => Array.isArray(p) && p.length === 2 && p.every((s) => typeof s === 'string')))
  ) {
    throw new CniError(CNI_ERROR.DECODE_FAILURE, `${where}: cniArgs: expected [key, value] string pairs`);
  }
  const capabilityArgs = field(value, 'capabilityArgs');
  const result = field(value, 'result');
  const netns = text('netns');
  return {
    kind: CACHE_KIND,
    containerId: text('containerId'),
    config: new Uint8Array(Buffer.from(text('config'), 'base64')),
    ifName: text('ifName'),
    networkName: text('networkName'),
    ...(netns ? { netns } : {}),
    ...(Array.isArray(args) ? { cniArgs: args as [string, string][] } : {}),
    ...(isRecord(capabilityArgs) ? { capabilityArgs } : {}),
    ...(isRecord(result) ? { result } : {}),
  };
}
