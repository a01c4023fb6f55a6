// Drop rules that log: each drop the table makes can also send the packet's headers to
// an nflog group, with a prefix that says what kind of drop it was, in which direction,
// and for which endpoint (the 8 hex digits of its chains' stem hash). A flow reader
// turns these NFLOG messages into deny flow events without knowing the rules.

import { NftablesNameError } from './errors.js';
import { endpointHash } from './names.js';

/** What kind of drop rule logged a packet. */
export const DROP_KIND = {
  /** A Deny rule matched. */
  DENY: 'deny',
  /** A tier's default deny: an isolating policy selects the endpoint and no rule allowed. */
  ISOLATED: 'isolated',
  /** The endpoint is attached but its rules are not known yet (fail closed). */
  NO_ENTRY: 'no-entry',
} as const;

/** One of {@link DROP_KIND}. */
export type DropKind = (typeof DROP_KIND)[keyof typeof DROP_KIND];

/** What a drop rule's log prefix says. */
export interface DropLogPrefix {
  /** What kind of drop rule logged the packet. */
  readonly kind: DropKind;
  /** The endpoint's direction the packet took: `ingress` into the pod, `egress` out of it. */
  readonly direction: 'ingress' | 'egress';
  /** {@link endpointHash} of the endpoint key whose chain dropped the packet. */
  readonly endpointHash: string;
}

const PREFIX_HEAD = 'twill';
const KINDS: ReadonlySet<string> = new Set(Object.values(DROP_KIND));
const PREFIX = /^twill:([a-z-]+):(ingress|egress):([0-9a-f]{8})$/;

/**
 * Checks an nflog group number (0-65535, as `log group N` takes).
 * @throws {NftablesNameError} naming `path` when it is not one.
 */
export function checkLogGroup(group: number, path: string): number {
  if (!Number.isInteger(group) || group < 0 || group > 0xffff) throw new NftablesNameError(path, `${group} is not an nflog group (an integer 0-65535)`);
  return group;
}

/** The log prefix of a drop rule (`twill:deny:ingress:1a2b3c4d`, at most 34 characters). */
export function dropLogPrefix(kind: DropKind, direction: 'ingress' | 'egress', key: string): string {
  return `${PREFIX_HEAD}:${kind}:${direction}:${endpointHash(key)}`;
}

/**
 * What a drop rule's log prefix says; `undefined` for any other prefix (a Log rule's
 * messages have none, another program's may have anything).
 */
export function parseDropLogPrefix(prefix: string): DropLogPrefix | undefined {
  const m = PREFIX.exec(prefix);
  if (m === null || !KINDS.has(m[1] as string)) return undefined;
  return { kind: m[1] as DropKind, direction: m[2] as 'ingress' | 'egress', endpointHash: m[3] as string };
}

/**
 * The statement of a drop: `counter drop`, or with `group`, `counter log prefix "…"
 * group N drop` (the packet's headers go to that nflog group before it is dropped; no
 * rate limit in the rule: the kernel drops what it cannot queue, and the reader counts
 * the gap in the sequence numbers).
 */
export function dropStatement(group: number | undefined, kind: DropKind, direction: 'ingress' | 'egress', key: string): string {
  if (group === undefined) return 'counter drop';
  return `counter log prefix "${dropLogPrefix(kind, direction, key)}" group ${group} drop`;
}
