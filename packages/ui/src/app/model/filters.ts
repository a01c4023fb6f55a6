// The flows view's filters, with `twill observe`'s meaning: each filled field narrows
// (AND); `--from-pod`/`--to-pod` are Hubble's `namespace/` or `namespace/pod-prefix` (a
// bare name is in `default`); `--port` is either side's port; `--protocol` and
// `--verdict` ignore case (`http`: the L7 flows); the HTTP fields are in ./http.ts. Pure.
import { compileHttpMethod, compileHttpPath, compileHttpStatus, type HttpFilter } from './http.js';
import { type UiFlow, type UiPeer } from './types.js';

/** The verdicts the filter offers (Hubble's names). */
export const FLOW_VERDICTS = ['FORWARDED', 'DROPPED', 'ERROR', 'AUDIT', 'REDIRECTED'] as const;

/** The protocols the filter offers (`twill observe --protocol`). */
export const FLOW_PROTOCOLS = ['tcp', 'udp', 'sctp', 'icmp', 'icmpv4', 'icmpv6', 'http'] as const;

/** The methods the HTTP method filter offers (any other can be typed with `twill observe`). */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE'] as const;

/** What the user typed or chose; `''` is "any". */
export interface FlowFilterInput {
  readonly verdict: string;
  readonly fromPod: string;
  readonly toPod: string;
  readonly port: string;
  readonly protocol: string;
  /** `--http-method`: `GET` (any case). */
  readonly httpMethod: string;
  /** `--http-path`: a regular expression searched in the URL's path. */
  readonly httpPath: string;
  /** `--http-status`: `404`, or a prefix and `+` (`4+`, `40+`). */
  readonly httpStatus: string;
}

/** No filter. */
export const NO_FILTER: FlowFilterInput = Object.freeze({ verdict: '', fromPod: '', toPod: '', port: '', protocol: '', httpMethod: '', httpPath: '', httpStatus: '' });

/** A compiled filter, or the problem with one field. */
export type CompiledFlowFilter =
  | { readonly ok: true; readonly matches: (flow: UiFlow) => boolean }
  | { readonly ok: false; readonly field: keyof FlowFilterInput; readonly message: string };

function podMatcher(value: string): (peer: UiPeer) => boolean {
  const text = value.trim();
  const slash = text.indexOf('/');
  const namespace = slash < 0 ? 'default' : text.slice(0, slash);
  const prefix = slash < 0 ? text : text.slice(slash + 1);
  return (peer) => peer.namespace === namespace && peer.pod !== undefined && peer.pod.startsWith(prefix);
}

function protocolMatches(wanted: string, protocol: string): boolean {
  const p = protocol.toLowerCase();
  if (wanted === 'icmp') return p === 'icmpv4' || p === 'icmpv6' || p === 'icmp';
  return p === wanted;
}

const HTTP_FIELDS: readonly [keyof FlowFilterInput, (text: string) => HttpFilter][] = [
  ['httpMethod', compileHttpMethod],
  ['httpPath', compileHttpPath],
  ['httpStatus', compileHttpStatus],
];

/** Compiles the filter; a port that is not 0 to 65535, a pod without a name, a bad HTTP status or path is a problem naming its field. */
export function compileFlowFilter(input: FlowFilterInput): CompiledFlowFilter {
  const tests: ((flow: UiFlow) => boolean)[] = [];
  const verdict = input.verdict.trim().toUpperCase();
  if (verdict !== '') {
    if (!(FLOW_VERDICTS as readonly string[]).includes(verdict)) return { ok: false, field: 'verdict', message: `verdict must be one of ${FLOW_VERDICTS.join(', ')}` };
    tests.push((f) => f.verdict === verdict);
  }
  for (const [field, side] of [['fromPod', 'from'], ['toPod', 'to']] as const) {
    const value = input[field].trim();
    if (value === '') continue;
    // `/` or `/web` names no namespace: it would match nothing, silently.
    if (value.startsWith('/')) return { ok: false, field, message: 'a pod is NAMESPACE/ or NAMESPACE/POD-PREFIX' };
    const match = podMatcher(value);
    tests.push((f) => match(f[side]));
  }
  const port = input.port.trim();
  if (port !== '') {
    const n = Number(port);
    if (!/^\d+$/u.test(port) || n > 65535) return { ok: false, field: 'port', message: 'port must be a number from 0 to 65535' };
    tests.push((f) => f.sourcePort === n || f.destinationPort === n);
  }
  const protocol = input.protocol.trim().toLowerCase();
  if (protocol !== '') {
    if (!(FLOW_PROTOCOLS as readonly string[]).includes(protocol)) return { ok: false, field: 'protocol', message: `protocol must be one of ${FLOW_PROTOCOLS.join(', ')}` };
    // `http` is Hubble's L7 protocol: the flows carrying HTTP fields (which `tcp` matches too, as in Hubble).
    tests.push(protocol === 'http' ? (f) => f.l7?.http !== undefined : (f) => protocolMatches(protocol, f.protocol));
  }
  for (const [field, compile] of HTTP_FIELDS) {
    if (input[field].trim() === '') continue;
    const compiled = compile(input[field]);
    if (!compiled.ok) return { ok: false, field, message: compiled.message };
    tests.push(compiled.matches);
  }
  return { ok: true, matches: (flow) => tests.every((t) => t(flow)) };
}

/** Whether a flow was denied (what the map draws red). */
export function isDenied(verdict: string): boolean {
  return verdict === 'DROPPED' || verdict === 'ERROR';
}
