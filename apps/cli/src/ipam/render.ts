// What `twill ipam` prints for people: the pools' and blocks' usage (as `calicoctl ipam
// show` has it, a count and its share), who holds an address or why nobody does, and
// the consistency report's problems in words. Pure: the agent's answers in, text out.

import { parseCidr } from '@twill/policy-engine';

import { type BigCount, type BlockView, type PoolAddressStatus, type PoolCheckReport, type PoolUsage } from '../client/index.js';
import { relativeWords } from '../duration.js';
import { renderTable, type Style } from '../output.js';

/** A count of the API (a number, or decimal digits past 2^53) as a bigint; `undefined` when it is neither. */
export function countOf(value: BigCount | undefined): bigint | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^[0-9]+$/.test(value)) return BigInt(value);
  return undefined;
}

/**
 * `n` as a share of `total`, rounded to whole percent; `<1%` and `>99%` instead of a
 * rounding that would hide a non-zero count or the last free address.
 */
export function percentOf(n: bigint, total: bigint): string {
  if (total <= 0n) return '-';
  if (n === 0n) return '0%';
  if (n === total) return '100%';
  const rounded = (n * 200n + total) / (total * 2n);
  if (rounded === 0n) return '<1%';
  if (rounded === 100n) return '>99%';
  return `${rounded}%`;
}

const withShare = (n: bigint | undefined, total: bigint | undefined): string =>
  n === undefined ? '?' : total === undefined ? String(n) : `${n} (${percentOf(n, total)})`;

/** The pools' table: size, used and free with their shares, reserved, cooling down, and blocks claimed of all. */
export function renderPools(pools: readonly PoolUsage[], style?: Style): string {
  const rows = pools.map((p) => {
    const size = countOf(p.size);
    return [
      p.pool,
      p.cidr,
      size === undefined ? '?' : String(size),
      withShare(countOf(p.allocated), size),
      withShare(countOf(p.free), size),
      String(countOf(p.reserved) ?? '?'),
      String(countOf(p.cooling) ?? '?'),
      `${countOf(p.claimedBlocks) ?? '?'}/${countOf(p.blocks) ?? '?'}`,
    ];
  });
  const right = { align: 'right' as const };
  return renderTable(
    [{ header: 'POOL' }, { header: 'CIDR' }, { header: 'SIZE', ...right }, { header: 'IN USE', ...right }, { header: 'FREE', ...right }, { header: 'RESERVED', ...right }, { header: 'COOLING', ...right }, { header: 'BLOCKS', ...right }],
    rows,
    style,
  );
}

/** The number of addresses in a block's CIDR; `undefined` when it is not a CIDR. */
export function blockSize(cidr: string): bigint | undefined {
  const parsed = parseCidr(cidr);
  return parsed === undefined ? undefined : 1n << BigInt((parsed.family === 4 ? 32 : 128) - parsed.prefixLength);
}

/** The blocks' table: the pool, the node each is affine to, in use and free with their shares, handles. */
export function renderBlocks(blocks: readonly BlockView[], style?: Style): string {
  const rows = blocks.map((b) => {
    const size = blockSize(b.cidr);
    return [b.cidr, b.pool, b.affinity ?? '-', size === undefined ? '?' : String(size), withShare(countOf(b.allocated), size), withShare(countOf(b.free), size), String(b.handles)];
  });
  const right = { align: 'right' as const };
  return renderTable([{ header: 'BLOCK' }, { header: 'POOL' }, { header: 'AFFINITY' }, { header: 'SIZE', ...right }, { header: 'IN USE', ...right }, { header: 'FREE', ...right }, { header: 'HANDLES', ...right }], rows, style);
}

const text = (status: PoolAddressStatus, field: string): string | undefined => {
  const value = status[field];
  return typeof value === 'string' && value !== '' ? value : undefined;
};

function timeWithDistance(iso: string | undefined, nowMs: number): string {
  if (iso === undefined) return '?';
  const at = Date.parse(iso);
  return Number.isNaN(at) ? iso : `${iso} (${relativeWords(at, nowMs)})`;
}

function blockLine(status: PoolAddressStatus): string {
  const block = text(status, 'block');
  const affinity = status['blockAffinity'];
  const pool = `pool ${text(status, 'pool') ?? '?'}`;
  if (block === undefined) return pool;
  if (status.state === 'free' && status['claimed'] === false) return `${pool}, block ${block} (not claimed by any node yet)`;
  if (typeof affinity === 'string') {
    const borrowed = status.state === 'allocated' && text(status, 'node') !== undefined && text(status, 'node') !== affinity;
    return `${pool}, block ${block} (affine to ${affinity}${borrowed ? '; borrowed' : ''})`;
  }
  return affinity === null ? `${pool}, block ${block} (affine to no node)` : `${pool}, block ${block}`;
}

/**
 * Who holds an address and since when, or why nobody does (free, reserved, cooling
 * down after a release, leaked, outside every pool): a sentence, then details.
 * @param nowMs - The time distances are measured from (milliseconds since the epoch).
 */
export function renderAddressStatus(status: PoolAddressStatus, nowMs: number): string {
  const lines: string[] = [];
  const detail = (label: string, value: string): void => void lines.push(`  ${`${label}:`.padEnd(11)}${value}`);
  const { ip } = status;
  switch (status.state) {
    case 'allocated': {
      const namespace = text(status, 'namespace');
      const pod = text(status, 'pod');
      const holder = pod === undefined ? `container ${text(status, 'containerId') ?? '?'}` : `pod ${namespace ?? 'default'}/${pod}`;
      lines.push(`${ip} is allocated to ${holder} on node ${text(status, 'node') ?? '?'}`);
      detail('handle', text(status, 'handle') ?? '?');
      detail('container', `${text(status, 'containerId') ?? '?'}, interface ${text(status, 'ifName') ?? '?'}`);
      detail('where', blockLine(status));
      detail('since', timeWithDistance(text(status, 'since'), nowMs));
      break;
    }
    case 'free':
      lines.push(`${ip} is free`);
      detail('where', blockLine(status));
      break;
    case 'reserved':
      lines.push(`${ip} is reserved: pool ${text(status, 'pool') ?? '?'} keeps ${text(status, 'reservation') ?? '?'} from pods`);
      break;
    case 'cooling':
      lines.push(`${ip} is cooling down after a release: no pod gets it before ${timeWithDistance(text(status, 'reusableAt'), nowMs)}`);
      detail('released', timeWithDistance(text(status, 'releasedAt'), nowMs));
      detail('where', blockLine(status));
      break;
    case 'leaked':
      lines.push(`${ip} is leaked: block ${text(status, 'block') ?? '?'} gives it to handle ${text(status, 'handle') ?? '?'}, which does not hold it`);
      detail('where', blockLine(status));
      detail('fix', `twill ipam release --ip ${ip}`);
      break;
    case 'outside-pools':
      lines.push(`${ip} is in no IP pool`);
      break;
    default:
      lines.push(`${ip} is ${status.state}`);
  }
  return `${lines.join('\n')}\n`;
}

/** One problem of the consistency report: what it is about and what is wrong, in words. */
export interface ProblemWords {
  readonly kind: string;
  readonly subject: string;
  readonly problem: string;
}

const str = (value: unknown): string => (typeof value === 'string' ? value : value === null || value === undefined ? '-' : JSON.stringify(value));
const pair = (value: unknown, i: number): string => (Array.isArray(value) ? str(value[i]) : '?');

/** A problem of `GET /v1/ipam/check` in words (kinds unknown to this CLI are shown with their fields). */
export function problemWords(problem: PoolCheckReport['problems'][number]): ProblemWords {
  const p = problem as Readonly<Record<string, unknown>> & { kind: string };
  const words = (subject: string, what: string): ProblemWords => ({ kind: p.kind, subject, problem: what });
  switch (p.kind) {
    case 'corrupt-document':
      return words(str(p['key']), 'the stored document does not decode');
    case 'block-outside-pools':
      return words(str(p['block']), `names pool ${str(p['pool'])}, which has no block like it (pool removed or changed)`);
    case 'overlapping-blocks':
      return words(pair(p['blocks'], 1), `overlaps block ${pair(p['blocks'], 0)}`);
    case 'overlapping-pools':
      return words(`pool ${pair(p['pools'], 0)}`, `${pair(p['cidrs'], 0)} overlaps pool ${pair(p['pools'], 1)}'s ${pair(p['cidrs'], 1)}`);
    case 'address-without-handle':
      return words(str(p['ip']), `block ${str(p['block'])} gives it to handle ${str(p['handle'])}, which ${p['reason'] === 'handle-missing' ? 'does not exist' : 'does not list it'}`);
    case 'handle-without-allocation': {
      const block = str(p['block']);
      const why = p['reason'] === 'block-missing' ? ` in block ${block}, which does not exist`
        : p['reason'] === 'not-allocated' ? `, which block ${block} has free` : `, which block ${block} gives to another handle`;
      return words(`handle ${str(p['handle'])}`, `lists ${str(p['ip'])}${why}`);
    }
    case 'affinity-mismatch': {
      const listed = Array.isArray(p['listedBy']) ? (p['listedBy'] as unknown[]).map(str) : [];
      const affine = p['blockAffinity'] === null || p['blockAffinity'] === undefined ? 'affine to no node' : `affine to ${str(p['blockAffinity'])}`;
      return words(str(p['block']), `is ${affine}, but ${listed.length === 0 ? 'no node lists it' : `listed by ${listed.join(', ')}`}`);
    }
    case 'affinity-without-block':
      return words(`node ${str(p['node'])}`, `lists block ${str(p['block'])}, which does not exist`);
    case 'block-node-unknown':
      return words(str(p['block']), `is affine to ${str(p['node'])}, which is not a node of the cluster`);
    case 'block-node-not-selected':
      return words(str(p['block']), `is affine to ${str(p['node'])}, which pool ${str(p['pool'])}'s nodeSelector no longer selects`);
    case 'reserved-address-allocated':
      return words(str(p['ip']), `is reserved, yet allocated to handle ${str(p['handle'])}`);
    default: {
      const { kind: _kind, ...rest } = p;
      return words('-', JSON.stringify(rest));
    }
  }
}

/** Whether the report says the pools are consistent (`ok`, or `consistent`, or no problems). */
export function reportConsistent(report: PoolCheckReport): boolean {
  const flag = report['ok'] ?? report['consistent'];
  return typeof flag === 'boolean' ? flag : report.problems.length === 0;
}

/** The consistency report: one row per problem, then a summary line. */
export function renderCheck(report: PoolCheckReport, style?: Style): string {
  const counts = (['block', 'handle', 'node'] as const)
    .flatMap((noun) => {
      const n = report[`${noun}s`];
      return typeof n === 'number' ? [`${n} ${noun}${n === 1 ? '' : 's'}`] : [];
    })
    .join(', ');
  const n = report.problems.length;
  const table = n === 0 ? '' : renderTable([{ header: 'KIND' }, { header: 'SUBJECT' }, { header: 'PROBLEM' }], report.problems.map(problemWords).map((w) => [w.kind, w.subject, w.problem]), style);
  const verdict = reportConsistent(report) ? (style?.good('consistent') ?? 'consistent') : (style?.bad('inconsistent') ?? 'inconsistent');
  return `${table}${verdict}: ${n} problem${n === 1 ? '' : 's'}${counts === '' ? '' : ` in ${counts}`}\n`;
}
