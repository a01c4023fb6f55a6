// `twill observe`'s flags as a GetFlows request, with Hubble's semantics: flags of
// different kinds narrow (AND), values of one flag widen (OR), and a flag that means
// either side (`--pod`, `--port`, `--label`) makes two whitelist filters, one with it as
// the source and one as the destination, each carrying every other flag. Pure.

import { compileFlowFilters, FlowFilterError, type FlowFilter, type FlowTime, flowTimeOf, type GetFlowsRequest, type Verdict } from '@twill/flows';
import { parseCidr, parseIpAddress } from '@twill/policy-engine';

import { UsageError } from '../errors.js';

/** The verdicts `--verdict` takes (Hubble's names; case does not matter). */
export const OBSERVE_VERDICTS = ['FORWARDED', 'DROPPED', 'ERROR', 'AUDIT', 'REDIRECTED'] as const;

/** The protocols `--protocol` takes (Hubble's names; case does not matter): `http` is the L7 flows of the agent's HTTP proxy. */
export const OBSERVE_PROTOCOLS = ['tcp', 'udp', 'sctp', 'icmp', 'icmpv4', 'icmpv6', 'http'] as const;

/** How many past flows `twill observe` shows when neither `--last`, `--first`, `--since` nor `--follow` says. */
export const DEFAULT_LAST = 20;

/** The filter flags, as parsed (each repeatable: its values are alternatives). */
export interface ObserveFilterOptions {
  readonly verdict?: readonly Verdict[];
  readonly fromPod?: readonly string[];
  readonly toPod?: readonly string[];
  readonly pod?: readonly string[];
  readonly fromIp?: readonly string[];
  readonly toIp?: readonly string[];
  readonly port?: readonly number[];
  readonly protocol?: readonly string[];
  readonly label?: readonly string[];
  readonly policy?: readonly string[];
  readonly node?: readonly string[];
  /** `--http-status`: `404`, or a prefix and `+` (`4+`). */
  readonly httpStatus?: readonly string[];
  /** `--http-method`: `GET` (any case). */
  readonly httpMethod?: readonly string[];
  /** `--http-path`: regular expressions searched in the URL's path. */
  readonly httpPath?: readonly string[];
  /** `--http-url`: regular expressions searched in the whole URL. */
  readonly httpUrl?: readonly string[];
}

/** The flags that choose which flows and how many. */
export interface ObserveRequestOptions extends ObserveFilterOptions {
  readonly follow?: boolean;
  readonly last?: number;
  readonly first?: number;
  /** Milliseconds since the epoch. */
  readonly since?: number;
}

// lab/demo/flows.ts and the tests import it from here.
export { flowTimeOf };

/** Milliseconds since the epoch of a protobuf Timestamp. */
export const msOf = (time: FlowTime): number => time.seconds * 1000 + time.nanos / 1e6;

const some = <T>(values: readonly T[] | undefined): values is readonly T[] => values !== undefined && values.length > 0;

/**
 * The request of `twill observe`'s flags.
 * @throws {UsageError} for flags that contradict each other (`--pod` with `--from-pod`,
 *   `--first` with `--last` or `--follow`), naming them.
 */
export function observeRequest(command: string, options: ObserveRequestOptions): GetFlowsRequest {
  const clash = (flag: string, other: string, why: string): never => {
    throw new UsageError(command, flag, `cannot be used with ${other} (${why})`);
  };
  if (options.first !== undefined && options.last !== undefined) clash('--first', '--last', 'the oldest flows or the newest, not both');
  if (options.first !== undefined && options.follow === true) clash('--first', '--follow', 'following shows the newest; use --since to start earlier');
  if (some(options.pod) && some(options.fromPod)) clash('--pod', '--from-pod', '--pod already means either side');
  if (some(options.pod) && some(options.toPod)) clash('--pod', '--to-pod', '--pod already means either side');

  const common: Record<string, unknown> = {};
  const put = (field: keyof FlowFilter, values: readonly unknown[] | undefined): void => {
    if (some(values)) common[field] = [...values];
  };
  put('verdict', options.verdict);
  put('sourcePod', options.fromPod);
  put('destinationPod', options.toPod);
  put('sourceIp', options.fromIp);
  put('destinationIp', options.toIp);
  put('protocol', options.protocol);
  put('policy', options.policy);
  put('nodeName', options.node);
  put('httpStatusCode', options.httpStatus);
  put('httpMethod', options.httpMethod);
  put('httpPath', options.httpPath);
  put('httpUrl', options.httpUrl);

  // Either-side flags: one filter for the source side, one for the destination side.
  const ports = options.port?.map(String);
  const either = some(options.pod) || some(ports) || some(options.label);
  let whitelist: FlowFilter[];
  if (either) {
    const side = (pod: keyof FlowFilter, port: keyof FlowFilter, label: keyof FlowFilter): FlowFilter => ({
      ...common,
      ...(some(options.pod) ? { [pod]: [...options.pod] } : {}),
      ...(some(ports) ? { [port]: [...ports] } : {}),
      ...(some(options.label) ? { [label]: [...options.label] } : {}),
    });
    whitelist = [side('sourcePod', 'sourcePort', 'sourceLabel'), side('destinationPod', 'destinationPort', 'destinationLabel')];
  } else {
    whitelist = Object.keys(common).length === 0 ? [] : [common as FlowFilter];
  }

  checkFilters(command, options, whitelist);

  let number: number | undefined;
  if (options.first !== undefined) number = options.first;
  else if (options.last !== undefined) number = options.last;
  else if (options.since === undefined) number = options.follow === true ? 0 : DEFAULT_LAST;
  return {
    ...(number === undefined ? {} : { number }),
    ...(options.first === undefined ? {} : { first: true }),
    ...(options.follow === true ? { follow: true } : {}),
    ...(whitelist.length === 0 ? {} : { whitelist }),
    ...(options.since === undefined ? {} : { since: flowTimeOf(options.since) }),
  };
}

// The flag each filter field comes from (either-side flags make both sides' fields).
function flagOf(field: string, options: ObserveFilterOptions): string {
  const flags: Readonly<Record<string, string>> = {
    sourcePod: some(options.pod) ? '--pod' : '--from-pod',
    destinationPod: some(options.pod) ? '--pod' : '--to-pod',
    sourceIp: '--from-ip',
    destinationIp: '--to-ip',
    sourceLabel: '--label',
    destinationLabel: '--label',
    sourcePort: '--port',
    destinationPort: '--port',
    verdict: '--verdict',
    protocol: '--protocol',
    policy: '--policy',
    nodeName: '--node',
    httpStatusCode: '--http-status',
    httpMethod: '--http-method',
    httpPath: '--http-path',
    httpUrl: '--http-url',
  };
  return flags[field] ?? field;
}

// What the observer would refuse (a label selector it cannot parse, say), said here and
// named by the flag, before any observer is asked.
function checkFilters(command: string, options: ObserveFilterOptions, whitelist: readonly FlowFilter[]): void {
  try {
    compileFlowFilters({ whitelist });
  } catch (error) {
    if (!(error instanceof FlowFilterError)) throw error;
    const field = /^whitelist\[\d+\]\.([A-Za-z]+)/.exec(error.field)?.[1] ?? error.field;
    const reason = error.message.startsWith(`${error.field}: `) ? error.message.slice(error.field.length + 2) : error.message;
    throw new UsageError(command, flagOf(field, options), reason, { cause: error });
  }
}

/** Option value parsers of `twill observe`, bound to its command path for the messages. */
export function observeParsers(command: string) {
  const fail = (flag: string, what: string): never => {
    throw new UsageError(command, flag, what);
  };
  const append = <T>(parse: (value: string) => T) => (value: string, previous: T[] | undefined): T[] => [...(previous ?? []), parse(value)];
  // A namespace and a pod name prefix (Hubble: `ns/` is every pod of ns).
  const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
  const PREFIX = /^[a-z0-9][-a-z0-9.]*$/;
  const pod = (flag: string) => (value: string): string => {
    const text = value.trim();
    const slash = text.indexOf('/');
    if (slash < 0 || text.indexOf('/', slash + 1) >= 0) return fail(flag, `must be NAMESPACE/POD, or NAMESPACE/ for every pod of it (got ${JSON.stringify(value)})`);
    const namespace = text.slice(0, slash);
    const name = text.slice(slash + 1);
    if (!NAME.test(namespace)) return fail(flag, `namespace ${JSON.stringify(namespace)} is not a Kubernetes name (lower-case letters, digits, '-' and '.')`);
    if (name !== '' && !PREFIX.test(name)) return fail(flag, `pod ${JSON.stringify(name)} is not a Kubernetes name or the start of one (lower-case letters, digits, '-' and '.')`);
    return `${namespace}/${name}`;
  };
  const ip = (flag: string) => (value: string): string => {
    const text = value.trim();
    const address = parseIpAddress(text);
    if (address !== undefined) return address.text;
    const cidr = text.includes('/') ? parseCidr(text) : undefined;
    if (cidr === undefined) return fail(flag, `must be an IP address or a CIDR such as 10.0.0.0/24 (got ${JSON.stringify(value)})`);
    return cidr.text;
  };
  const port = (flag: string) => (value: string): number => {
    const text = value.trim();
    if (!/^[0-9]+$/.test(text)) return fail(flag, `must be a port number 1-65535 (got ${JSON.stringify(value)})`);
    const n = Number(text);
    if (n < 1 || n > 65535) return fail(flag, `must be 1-65535 (got ${text})`);
    return n;
  };
  const choice = <T extends string>(flag: string, choices: readonly T[], normal: (value: string) => string) => (value: string): T => {
    const text = normal(value.trim());
    if (!(choices as readonly string[]).includes(text)) return fail(flag, `must be one of ${choices.join(', ')} (got ${JSON.stringify(value)})`);
    return text as T;
  };
  const nonEmpty = (flag: string, what: string) => (value: string): string => {
    if (value.trim() === '') return fail(flag, `must be ${what} (got "")`);
    return value.trim();
  };
  const count = (flag: string) => (value: string): number => {
    if (!/^[0-9]+$/.test(value.trim()) || Number(value) < 1) return fail(flag, `must be a whole number of at least 1 (got ${JSON.stringify(value)})`);
    return Number(value);
  };
  return {
    append,
    pod,
    ip,
    port,
    count,
    nonEmpty,
    verdict: (flag: string) => choice<Verdict>(flag, OBSERVE_VERDICTS, (v) => v.toUpperCase()),
    protocol: (flag: string) => choice(flag, OBSERVE_PROTOCOLS, (v) => v.toLowerCase()),
    /** `--since`: RFC 3339 (`2026-11-28T19:00:00Z`) or a time ago (`90s`, `5m`, `2h`), against `now` (ms since the epoch). */
    since: (flag: string, now: () => number) => (value: string): number => {
      const text = value.trim();
      const ago = /^([0-9]+)(ms|s|m|h|d)$/.exec(text);
      if (ago !== null) {
        const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[ago[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
        return now() - Number(ago[1]) * unit;
      }
      // A date with a time and a zone; a bare date or time is ambiguous on a server in another zone.
      const ms = /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$/i.test(text) ? Date.parse(text.replace(' ', 'T')) : Number.NaN;
      if (Number.isNaN(ms)) return fail(flag, `must be a time such as 2026-11-28T19:00:00Z or a time ago such as 90s, 5m, 2h (got ${JSON.stringify(value)})`);
      return ms;
    },
  };
}
