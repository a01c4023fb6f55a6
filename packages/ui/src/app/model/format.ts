// What the BGP, IPAM and policy views show, in words. Pure.
import { type UiBlock, type UiPolicyRef, type UiPool, type UiWhyHeld } from './types.js';

/** `3d 4h`, `2h 5m`, `42s`; `—` when not established. */
export function formatUptime(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** A pool's utilisation: allocated of size as a percentage with one decimal (`12.5%`); exact for IPv6 sizes too. */
export function poolUtilisation(pool: Pick<UiPool, 'allocated' | 'size'>): string {
  const size = BigInt(pool.size);
  if (size === 0n) return '0%';
  const tenths = (BigInt(pool.allocated) * 1000n) / size;
  return `${tenths / 10n}.${tenths % 10n}%`;
}

/** A block's utilisation as a fraction 0 to 1. */
export function blockUtilisation(block: Pick<UiBlock, 'allocated' | 'free'>): number {
  const total = block.allocated + block.free;
  return total === 0 ? 0 : block.allocated / total;
}

/** Blocks grouped by the node holding their affinity (`(no node)` for none), nodes sorted. */
export function blocksByNode(blocks: readonly UiBlock[]): [string, UiBlock[]][] {
  const nodes = new Map<string, UiBlock[]>();
  for (const block of blocks) {
    const node = block.affinity ?? '(no node)';
    const list = nodes.get(node) ?? [];
    list.push(block);
    nodes.set(node, list);
  }
  return [...nodes.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([node, list]) => [node, list.sort((a, b) => a.cidr.localeCompare(b.cidr, 'en', { numeric: true }))]);
}

const text = (value: unknown): string => (typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value));

/** "Why is this IP held", in one sentence from `whyHeld`'s answer. */
export function describeWhyHeld(why: UiWhyHeld): string {
  const f = (name: string): string => text(why[name]);
  switch (why.state) {
    case 'allocated':
      return `${why.ip} is held by ${why['pod'] === undefined ? `container ${f('containerId')}` : `pod ${f('namespace')}/${f('pod')}`} on node ${f('node')} (handle ${f('handle')}, interface ${f('ifName')}) since ${f('since')}, in block ${f('block')} of pool ${f('pool')}.`;
    case 'leaked':
      return `${why.ip} is leaked: block ${f('block')} gives it to handle ${f('handle')}, which does not hold it (twill ipam release --ip frees it).`;
    case 'reserved':
      return `${why.ip} is reserved (${f('reservation')}) in pool ${f('pool')}: never allocated.`;
    case 'cooling':
      return `${why.ip} was released at ${f('releasedAt')} and can be allocated again at ${f('reusableAt')}.`;
    case 'free':
      return `${why.ip} is free: nobody holds it (block ${f('block')} of pool ${f('pool')}${why['claimed'] === true ? `, claimed by node ${f('blockAffinity')}` : ', not claimed by a node'}).`;
    case 'outside-pools':
      return `${why.ip} is in none of the pools.`;
    default: {
      const rest = Object.entries(why).filter(([k]) => k !== 'state' && k !== 'ip').map(([k, v]) => `${k} ${text(v)}`);
      return `${why.ip} is ${why.state}${rest.length === 0 ? '' : ` (${rest.join(', ')})`}.`;
    }
  }
}

/** `NetworkPolicy x/deny`, or `GlobalNetworkPolicy default-deny`. */
export function formatPolicy(ref: UiPolicyRef): string {
  return `${ref.kind} ${ref.namespace === undefined ? '' : `${ref.namespace}/`}${ref.name}`;
}

/** A probe's deciding rule in the words `twill policy explain` prints in its DECIDED BY column. */
export function describeDecision(decided: { readonly direction: string; readonly reason: string; readonly endpoint: string; readonly policy?: UiPolicyRef; readonly rule?: string; readonly isolatedBy?: readonly UiPolicyRef[] }): string {
  switch (decided.reason) {
    case 'rule':
      return `${decided.direction}: ${decided.policy === undefined ? '' : formatPolicy(decided.policy)} ${decided.rule ?? ''}`.trimEnd();
    case 'isolated':
      return `${decided.direction}: isolated by ${(decided.isolatedBy ?? []).map(formatPolicy).join(', ')}`;
    case 'not-selected':
      return `${decided.direction}: no policy selects ${decided.endpoint}`;
    default:
      return `${decided.direction}: passed, default allow`;
  }
}
