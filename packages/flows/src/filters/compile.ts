// Flow filters with Hubble's semantics: a flow passes a request when one of its whitelist
// filters matches (or there are none) and no blacklist filter does; within a filter every
// non-empty field must match, and within a field any value may. Values are checked once,
// when compiling: a bad one throws a FlowFilterError naming it (`whitelist[0].sourcePort[1]`).
import { FlowFilterError } from '../errors.js';
import {
  DROP_REASON,
  type Flow,
  type FlowEndpoint,
  type FlowFilter,
  type FlowPolicy,
  type GetFlowsRequest,
  TRAFFIC_DIRECTION,
  VERDICT,
} from '../model.js';
import { type IpBytes, parseCidr, parseIp, prefixContains, sameIp } from './ip.js';
import { compileSearch, RegexSyntaxError } from './regex.js';
import { compileLabelSelector } from './selector.js';

type Predicate = (flow: Flow) => boolean;
type FieldCompiler = (values: readonly unknown[], path: string) => Predicate;

const quote = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));

function strings(values: readonly unknown[], path: string, what: string): string[] {
  return values.map((v, i) => {
    if (typeof v !== 'string' || v === '') throw new FlowFilterError(`${path}[${i}]`, `${quote(v)} is not ${what}`);
    return v;
  });
}

function oneOf(field: 'verdict' | 'dropReasonDesc' | 'trafficDirection', table: Readonly<Record<string, string>>, what: string): FieldCompiler {
  const allowed = new Set<string>(Object.values(table));
  return (values, path) => {
    const set = new Set(
      values.map((v, i) => {
        if (typeof v !== 'string' || !allowed.has(v)) {
          throw new FlowFilterError(`${path}[${i}]`, `${quote(v)} is not ${what} (one of ${[...allowed].join(', ')})`);
        }
        return v;
      }),
    );
    return (flow) => {
      const value: string | undefined = flow[field];
      return value !== undefined && set.has(value);
    };
  };
}

// ---- IP --------------------------------------------------------------------------------

// Parsed flow addresses, so that a busy stream does not parse the same few addresses again
// and again; cleared when it grows past its bound.
const ipCache = new Map<string, IpBytes | null>();
function flowIp(text: string): IpBytes | null {
  let bytes = ipCache.get(text);
  if (bytes === undefined) {
    if (ipCache.size >= 4096) ipCache.clear();
    bytes = parseIp(text) ?? null;
    ipCache.set(text, bytes);
  }
  return bytes;
}

function ipField(side: 'source' | 'destination'): FieldCompiler {
  return (values, path) => {
    const tests = values.map((v, i): ((ip: IpBytes) => boolean) => {
      if (typeof v === 'string') {
        if (v.includes('/')) {
          const prefix = parseCidr(v);
          if (prefix !== undefined) return (ip) => prefixContains(prefix, ip);
        } else {
          const address = parseIp(v);
          if (address !== undefined) return (ip) => sameIp(address, ip);
        }
      }
      throw new FlowFilterError(`${path}[${i}]`, `${quote(v)} is not an IP address or CIDR prefix`);
    });
    return (flow) => {
      const ip = flowIp(flow.IP[side]);
      return ip !== null && tests.some((t) => t(ip));
    };
  };
}

// ---- pods, labels ------------------------------------------------------------------------

function podField(side: 'source' | 'destination'): FieldCompiler {
  return (values, path) => {
    const tests = strings(values, path, 'a pod (`namespace/`, `namespace/pod-prefix` or `pod-prefix`)').map((v, i) => {
      const parts = v.split('/');
      if (parts.length > 2 || (parts.length === 2 && parts[0] === '')) {
        throw new FlowFilterError(`${path}[${i}]`, `${quote(v)} is not a pod (\`namespace/\`, \`namespace/pod-prefix\` or \`pod-prefix\`)`);
      }
      const namespace = parts.length === 2 ? parts[0] : undefined;
      const prefix = parts.length === 2 ? (parts[1] as string) : v;
      return (ep: FlowEndpoint): boolean =>
        (namespace === undefined || ep.namespace === namespace) &&
        (prefix === '' || (ep.podName !== undefined && ep.podName.startsWith(prefix)));
    });
    return (flow) => tests.some((t) => t(flow[side]));
  };
}

function labelField(side: 'source' | 'destination'): FieldCompiler {
  return (values, path) => {
    const selectors = strings(values, path, 'a label selector').map((v, i) => {
      const selector = compileLabelSelector(v);
      if (typeof selector === 'string') throw new FlowFilterError(`${path}[${i}]`, `${quote(v)} is not a label selector: ${selector}`);
      return selector;
    });
    return (flow) => selectors.some((s) => s(flow[side].labels));
  };
}

// ---- L4 --------------------------------------------------------------------------------

function flowPorts(flow: Flow): { sourcePort: number; destinationPort: number } | undefined {
  const l4 = flow.l4;
  if (l4 === undefined) return undefined;
  if ('TCP' in l4) return l4.TCP;
  if ('UDP' in l4) return l4.UDP;
  if ('SCTP' in l4) return l4.SCTP;
  return undefined;
}

function portField(side: 'sourcePort' | 'destinationPort'): FieldCompiler {
  return (values, path) => {
    const ports = new Set(
      values.map((v, i) => {
        if (typeof v !== 'string' || !/^[0-9]{1,5}$/.test(v) || Number(v) > 65_535) {
          throw new FlowFilterError(`${path}[${i}]`, `${quote(v)} is not a port`);
        }
        return Number(v);
      }),
    );
    return (flow) => {
      const p = flowPorts(flow);
      return p !== undefined && ports.has(p[side]);
    };
  };
}

const PROTOCOLS: Readonly<Record<string, readonly string[]>> = {
  tcp: ['TCP'],
  udp: ['UDP'],
  sctp: ['SCTP'],
  icmp: ['ICMPv4', 'ICMPv6'],
  icmpv4: ['ICMPv4'],
  icmpv6: ['ICMPv6'],
};

const protocolField: FieldCompiler = (values, path) => {
  const layers = new Set<string>();
  let http = false;
  values.forEach((v, i) => {
    // `http` is Hubble's L7 protocol: flows carrying HTTP fields.
    if (typeof v === 'string' && v.toLowerCase() === 'http') {
      http = true;
      return;
    }
    const names = typeof v === 'string' && Object.hasOwn(PROTOCOLS, v.toLowerCase()) ? PROTOCOLS[v.toLowerCase()] : undefined;
    if (names === undefined) {
      throw new FlowFilterError(`${path}[${i}]`, `${quote(v)} is not a protocol (one of ${[...Object.keys(PROTOCOLS), 'http'].join(', ')})`);
    }
    for (const n of names) layers.add(n);
  });
  return (flow) => (http && flow.l7?.http !== undefined) || (flow.l4 !== undefined && Object.keys(flow.l4).some((k) => layers.has(k)));
};

// ---- HTTP (L7) ---------------------------------------------------------------------------

// Hubble's forms: a full code (`404`), or a prefix of one or two digits and `+` (`4+`, `40+`).
const STATUS_FULL = /^[1-5][0-9]{2}$/;
const STATUS_PREFIX = /^[1-5][0-9]?\+$/;

const httpStatusField: FieldCompiler = (values, path) => {
  const full = new Set<string>();
  const prefixes: string[] = [];
  values.forEach((v, i) => {
    if (typeof v === 'string' && STATUS_FULL.test(v)) full.add(v);
    else if (typeof v === 'string' && STATUS_PREFIX.test(v)) prefixes.push(v.slice(0, -1));
    else throw new FlowFilterError(`${path}[${i}]`, `${quote(v)} is not an HTTP status code filter (a code from 100 to 599, \`404\`, or a prefix and \`+\`: \`4+\`, \`40+\`)`);
  });
  return (flow) => {
    const code = flow.l7?.http?.code ?? 0;
    // No status sent: not an answered request, as in Hubble.
    if (code === 0) return false;
    const text = String(code).padStart(3, '0');
    return full.has(text) || prefixes.some((p) => text.startsWith(p));
  };
};

const httpMethodField: FieldCompiler = (values, path) => {
  const methods = new Set(strings(values, path, 'an HTTP method').map((m) => m.toUpperCase()));
  return (flow) => {
    const method = flow.l7?.http?.method;
    return method !== undefined && method !== '' && methods.has(method.toUpperCase());
  };
};

function regexes(values: readonly unknown[], path: string): ((text: string) => boolean)[] {
  return strings(values, path, 'a regular expression').map((v, i) => {
    try {
      return compileSearch(v);
    } catch (error) {
      if (error instanceof RegexSyntaxError) throw new FlowFilterError(`${path}[${i}]`, `${quote(v)} is not a regular expression Twill accepts: ${error.message}`);
      throw error;
    }
  });
}

/**
 * The path of a flow's URL as Hubble's filter reads it (Go's `url.ParseRequestURI(...).Path`):
 * without scheme, authority, query and fragment, percent-decoded; undefined when the URL
 * cannot be parsed (a bad percent escape), which no path filter matches.
 */
export function urlPath(url: string): string | undefined {
  let rest = url;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(rest);
  if (scheme !== null) {
    const slash = rest.indexOf('/', scheme[0].length);
    rest = slash < 0 ? '' : rest.slice(slash);
  } else if (!rest.startsWith('/') && rest !== '*') return undefined;
  const end = rest.search(/[?#]/);
  if (end >= 0) rest = rest.slice(0, end);
  if (/%(?![0-9A-Fa-f]{2})/.test(rest)) return undefined;
  try {
    return decodeURIComponent(rest);
  } catch {
    // Escapes of bytes that are not UTF-8: matched as written.
    return rest;
  }
}

const httpPathField: FieldCompiler = (values, path) => {
  const tests = regexes(values, path);
  return (flow) => {
    const url = flow.l7?.http?.url;
    if (url === undefined || url === '') return false;
    const p = urlPath(url);
    return p !== undefined && tests.some((t) => t(p));
  };
};

const httpUrlField: FieldCompiler = (values, path) => {
  const tests = regexes(values, path);
  return (flow) => {
    const url = flow.l7?.http?.url;
    return url !== undefined && url !== '' && tests.some((t) => t(url));
  };
};

// ---- node, reply, uuid, policy --------------------------------------------------------------

/** The longest node name pattern accepted (a DNS name's limit). */
export const MAX_NODE_PATTERN_LENGTH = 253;

/**
 * A `*` glob as a linear-time test: the literal parts between the stars must appear in
 * order, the first at the start and the last at the end (no RegExp, so no backtracking:
 * `'*'.repeat(24) + 'x'` costs one pass, not minutes).
 */
export function compileGlob(pattern: string): (text: string) => boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return (text) => text === pattern;
  const first = parts[0] as string;
  const last = parts[parts.length - 1] as string;
  // Repeated stars leave empty parts between them: they constrain nothing.
  const middle = parts.slice(1, -1).filter((p) => p !== '');
  const minLength = first.length + last.length + middle.reduce((n, p) => n + p.length, 0);
  return (text) => {
    if (text.length < minLength || !text.startsWith(first) || !text.endsWith(last)) return false;
    let at = first.length;
    const end = text.length - last.length;
    for (const part of middle) {
      const found = text.indexOf(part, at);
      if (found < 0 || found + part.length > end) return false;
      at = found + part.length;
    }
    return true;
  };
}

const nodeNameField: FieldCompiler = (values, path) => {
  const patterns = values.map((v, i) => {
    if (typeof v === 'string' && v.length > MAX_NODE_PATTERN_LENGTH) {
      throw new FlowFilterError(`${path}[${i}]`, `a node name pattern of ${v.length} characters is longer than ${MAX_NODE_PATTERN_LENGTH}`);
    }
    if (typeof v !== 'string' || !/^[A-Za-z0-9*][A-Za-z0-9.*_-]*$/.test(v)) {
      const why = typeof v === 'string' && v.includes('/') ? ' (cluster names are not supported)' : '';
      throw new FlowFilterError(`${path}[${i}]`, `${quote(v)} is not a node name pattern${why}`);
    }
    // `*` stands for any run of characters; everything else is literal.
    return compileGlob(v);
  });
  return (flow) => patterns.some((p) => p(flow.nodeName));
};

const replyField: FieldCompiler = (values, path) => {
  const wanted = values.map((v, i) => {
    if (typeof v !== 'boolean') throw new FlowFilterError(`${path}[${i}]`, `${quote(v)} is not true or false`);
    return v;
  });
  return (flow) => wanted.includes(flow.isReply);
};

const uuidField: FieldCompiler = (values, path) => {
  const set = new Set(strings(values, path, 'a flow uuid'));
  return (flow) => set.has(flow.uuid);
};

function flowPolicies(flow: Flow): FlowPolicy[] {
  const out = [...flow.egressAllowedBy, ...flow.ingressAllowedBy, ...flow.egressDeniedBy, ...flow.ingressDeniedBy];
  const decided = flow.decidedBy;
  if (decided?.policy !== undefined) out.push(decided.policy);
  if (decided?.isolatedBy !== undefined) out.push(...decided.isolatedBy);
  return out;
}

const policyField: FieldCompiler = (values, path) => {
  const tests = strings(values, path, 'a policy (`kind/namespace/name`, `namespace/name` or `name`)').map((v, i) => {
    const parts = v.split('/');
    const name = parts[parts.length - 1] as string;
    if (parts.length > 3 || name === '' || (parts.length === 3 && parts[0] === '')) {
      throw new FlowFilterError(`${path}[${i}]`, `${quote(v)} is not a policy (\`kind/namespace/name\`, \`namespace/name\` or \`name\`)`);
    }
    const kind = parts.length === 3 ? parts[0] : undefined;
    const namespace = parts.length >= 2 ? parts[parts.length - 2] : undefined;
    return (p: FlowPolicy): boolean =>
      p.name === name && (kind === undefined || p.kind === kind) && (namespace === undefined || (p.namespace ?? '') === namespace);
  });
  return (flow) => flowPolicies(flow).some((p) => tests.some((t) => t(p)));
};

// ---- the filter and the request ----------------------------------------------------------

const FIELDS: Readonly<Record<keyof FlowFilter, FieldCompiler>> = {
  uuid: uuidField,
  sourceIp: ipField('source'),
  sourcePod: podField('source'),
  sourceLabel: labelField('source'),
  destinationIp: ipField('destination'),
  destinationPod: podField('destination'),
  destinationLabel: labelField('destination'),
  verdict: oneOf('verdict', VERDICT, 'a verdict'),
  dropReasonDesc: oneOf('dropReasonDesc', DROP_REASON, 'a drop reason'),
  sourcePort: portField('sourcePort'),
  destinationPort: portField('destinationPort'),
  protocol: protocolField,
  httpStatusCode: httpStatusField,
  httpMethod: httpMethodField,
  httpPath: httpPathField,
  httpUrl: httpUrlField,
  trafficDirection: oneOf('trafficDirection', TRAFFIC_DIRECTION, 'a traffic direction'),
  nodeName: nodeNameField,
  reply: replyField,
  policy: policyField,
};

function compileFilter(filter: unknown, path: string): Predicate {
  if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) {
    throw new FlowFilterError(path, `${quote(filter)} is not a flow filter`);
  }
  const predicates: Predicate[] = [];
  for (const [key, values] of Object.entries(filter)) {
    if (values === undefined) continue;
    const compile = Object.hasOwn(FIELDS, key) ? FIELDS[key as keyof FlowFilter] : undefined;
    if (compile === undefined) throw new FlowFilterError(`${path}.${key}`, 'is not a flow filter field');
    if (!Array.isArray(values)) throw new FlowFilterError(`${path}.${key}`, `${quote(values)} is not a list`);
    if (values.length > MAX_FIELD_VALUES) {
      throw new FlowFilterError(`${path}.${key}`, `${values.length} values are more than the limit of ${MAX_FIELD_VALUES} per field`);
    }
    if (values.length > 0) predicates.push(compile(values, `${path}.${key}`));
  }
  return (flow) => predicates.every((p) => p(flow));
}

/** The most filters a request may hold (whitelist and blacklist together). */
export const MAX_FILTERS = 64;
/** The most values one field of a filter may hold. */
export const MAX_FIELD_VALUES = 256;

function compileList(list: unknown, path: string): Predicate[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new FlowFilterError(path, `${quote(list)} is not a list of filters`);
  if (list.length > MAX_FILTERS) throw new FlowFilterError(path, `${list.length} filters are more than the limit of ${MAX_FILTERS} per request`);
  return list.map((f, i) => compileFilter(f, `${path}[${i}]`));
}

/**
 * Compiles a request's whitelist and blacklist into one test with Hubble's semantics: a
 * flow passes when one whitelist filter matches (or there is none) and no blacklist
 * filter does; within a filter all non-empty fields must match, within a field any value.
 * Ports are decimal strings; pods `namespace/`, `namespace/pod-prefix` or `pod-prefix`
 * (any namespace); labels are selectors (`k8s:app=web`, `app in (a,b)`, `!app`); node names
 * may hold `*`; `policy` matches any policy the flow names (allowed by, denied by, or the
 * deciding one) as `kind/namespace/name`, `namespace/name` or `name`. HTTP filters read
 * a flow's `l7.http`: `httpStatusCode` `404` or `4+`, `httpMethod` case-insensitive,
 * `httpPath` and `httpUrl` regular expressions searched (not anchored: use `^` and `$`) in
 * the URL's decoded path or the whole URL. The regular expressions are RE2's syntax less
 * flags, named groups, lookaround, back references, word boundaries and `\p` classes
 * (refused by name), and run in time linear in the text, whoever sent them.
 * @throws FlowFilterError naming the field of a bad value (`whitelist[0].sourcePort[1]: "http" is not a port`).
 */
export function compileFlowFilters(request: Pick<GetFlowsRequest, 'whitelist' | 'blacklist'>): (flow: Flow) => boolean {
  const whitelist = compileList(request.whitelist, 'whitelist');
  const blacklist = compileList(request.blacklist, 'blacklist');
  if (whitelist.length + blacklist.length > MAX_FILTERS) {
    throw new FlowFilterError('blacklist', `${whitelist.length + blacklist.length} filters are more than the limit of ${MAX_FILTERS} per request`);
  }
  if (whitelist.length === 0 && blacklist.length === 0) return () => true;
  return (flow) => (whitelist.length === 0 || whitelist.some((f) => f(flow))) && !blacklist.some((f) => f(flow));
}
