import { createRequire } from 'node:module';

/** The functions the compiled addon exports; see `native/*.cc` for each one's contract. */
export interface NativeBinding {
  bpf(cmd: number, attr: ArrayBufferView): number;
  addressOf(view: ArrayBufferView): bigint;
  openNetns(path: string): number;
  createNetns(dir: string, path: string): void;
  deleteNetns(path: string): void;
  runInNetns(nsFd: number, fn: () => unknown): unknown;
  socketIn(nsFd: number, domain: number, type: number, protocol: number): number;
  setTcpMd5(fd: number, address: string, prefixLength: number, key: Uint8Array): void;
  setTtl(fd: number, ttl: number): void;
  setMinTtl(fd: number, minTtl: number): void;
  /** `[domain, IP_TTL, IP_MINTTL, IPV6_UNICAST_HOPS, IPV6_MINHOPCOUNT]`, -1 for the IPv6 ones of an IPv4 socket. */
  getTtl(fd: number): [number, number, number, number, number];
  transparentListener(nsFd: number, address: string, port: number): number;
  getTransparent(fd: number): boolean;
  /** `mark` applies only when `hasMark`. */
  transparentSocket(nsFd: number, address: string, hasMark: boolean, mark: number): number;
  setMark(fd: number, mark: number): void;
  getMark(fd: number): number;
  /** `program`: struct sock_filter records, 8 bytes each in host byte order. */
  attachSocketFilter(fd: number, program: Uint8Array): void;
  detachSocketFilter(fd: number): void;
  setNetlinkMembership(fd: number, group: number, join: boolean): void;
  setNetlinkNoEnobufs(fd: number, on: boolean): void;
  /** `mode`: 0 SO_RCVBUF, 1 SO_RCVBUFFORCE, 2 force falling back to SO_RCVBUF on EPERM. Returns SO_RCVBUF read back. */
  setReceiveBuffer(fd: number, bytes: number, mode: number): number;
  /** The SO_MEMINFO entries the kernel filled (SK_MEMINFO_*). */
  getMemInfo(fd: number): number[];
  mmap(fd: number, length: number, offset: number, writable: boolean): ArrayBuffer;
  munmap(buffer: ArrayBuffer): void;
  /** `events` are uv_poll_event bits; the handle is opaque. */
  watchFd(fd: number, events: number, callback: (status: number, events: number, code: string | undefined) => void): unknown;
  unwatchFd(handle: unknown): void;
  refFdWatch(handle: unknown, ref: boolean): void;
}

// src/ and dist/ both sit one level below the package root, next to build/.
const require = createRequire(import.meta.url);

/** The loaded addon, built from `native/` by node-gyp when the package is installed. */
export const native: NativeBinding = require('../build/Release/twill_sys.node') as NativeBinding;
