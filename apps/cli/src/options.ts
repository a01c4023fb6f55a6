// Parsers of option values, run by commander as it reads the command line. A bad value
// throws a UsageError naming the command and the option, which commander passes on.

import { UsageError } from './errors.js';

/** The transport protocols a probe may use (the ones Kubernetes policy ports name). */
export const PROBE_PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;

/** One of {@link PROBE_PROTOCOLS}. */
export type ProbeProtocol = (typeof PROBE_PROTOCOLS)[number];

/** A pod named on the command line. */
export interface PodRef {
  readonly namespace: string;
  readonly name: string;
}

/** `x/a`. */
export const formatPod = (pod: PodRef): string => `${pod.namespace}/${pod.name}`;

/** Option value parsers bound to one command, for its error messages. */
export interface Parsers {
  port(flag: string): (value: string) => number;
  ports(flag: string): (value: string) => number[];
  protocol(flag: string): (value: string) => ProbeProtocol;
  protocols(flag: string): (value: string) => ProbeProtocol[];
  pod(flag: string): (value: string) => PodRef;
  choice<T extends string>(flag: string, choices: readonly T[]): (value: string) => T;
  positiveInteger(flag: string): (value: string) => number;
}

// DNS-1123 labels and subdomains, as Kubernetes names namespaces and pods.
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** The parsers for `command` (`policy simulate`). */
export function parsersFor(command: string): Parsers {
  const fail = (flag: string, what: string): never => {
    throw new UsageError(command, flag, what);
  };
  const port = (flag: string, value: string, what = value): number => {
    const text = value.trim();
    if (!/^[0-9]+$/.test(text)) return fail(flag, `must be a port number 1-65535 (got ${JSON.stringify(what)})`);
    const n = Number(text);
    if (n < 1 || n > 65535) return fail(flag, `must be 1-65535 (got ${text})`);
    return n;
  };
  const protocol = (flag: string, value: string): ProbeProtocol => {
    const upper = value.trim().toUpperCase();
    if (!(PROBE_PROTOCOLS as readonly string[]).includes(upper)) return fail(flag, `must be one of ${PROBE_PROTOCOLS.join(', ')} (got ${JSON.stringify(value)})`);
    return upper as ProbeProtocol;
  };
  const list = (flag: string, value: string): string[] => {
    const items = value.split(',').map((s) => s.trim());
    if (items.some((s) => s === '')) fail(flag, `must be a comma-separated list without empty items (got ${JSON.stringify(value)})`);
    return items;
  };
  const unique = <T>(flag: string, items: T[]): T[] => {
    const seen = new Set<T>();
    for (const item of items) {
      if (seen.has(item)) fail(flag, `lists ${String(item)} twice`);
      seen.add(item);
    }
    return items;
  };
  return {
    port: (flag) => (value) => port(flag, value),
    ports: (flag) => (value) => unique(flag, list(flag, value).map((item) => port(flag, item))),
    protocol: (flag) => (value) => protocol(flag, value),
    protocols: (flag) => (value) => unique(flag, list(flag, value).map((item) => protocol(flag, item))),
    pod: (flag) => (value) => {
      const parts = value.split('/');
      if (parts.length !== 2) return fail(flag, `must be NAMESPACE/POD (got ${JSON.stringify(value)})`);
      const [namespace = '', name = ''] = parts;
      if (!NAME.test(namespace)) return fail(flag, `namespace ${JSON.stringify(namespace)} is not a Kubernetes name (lower-case letters, digits, '-' and '.')`);
      if (!NAME.test(name)) return fail(flag, `pod ${JSON.stringify(name)} is not a Kubernetes name (lower-case letters, digits, '-' and '.')`);
      return { namespace, name };
    },
    choice: (flag, choices) => (value) => {
      if (!(choices as readonly string[]).includes(value)) return fail(flag, `must be one of ${choices.join(', ')} (got ${JSON.stringify(value)})`);
      return value as (typeof choices)[number];
    },
    positiveInteger: (flag) => (value) => {
      if (!/^[0-9]+$/.test(value.trim()) || Number(value) < 1) return fail(flag, `must be a whole number of at least 1 (got ${JSON.stringify(value)})`);
      return Number(value);
    },
  };
}
