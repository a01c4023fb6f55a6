// Flows and endpoints for the model tests.
import { type UiEndpoint, type UiFlow } from '../../../src/app/model/types.js';

export function endpoint(namespace: string, pod: string, app = pod.replace(/-[^-]*$/u, '')): UiEndpoint {
  return { namespace, pod, addresses: [], labels: { app }, app };
}

let next = 0;

export function flow(overrides: Omit<Partial<UiFlow>, 'from' | 'to'> & { from?: Partial<UiFlow['from']>; to?: Partial<UiFlow['to']> } = {}): UiFlow {
  next += 1;
  const { from, to, ...rest } = overrides;
  return {
    id: `f${next}`,
    timeMs: 1_700_000_000_000 + next,
    verdict: 'FORWARDED',
    protocol: 'TCP',
    from: { namespace: 'x', pod: 'a-1', ip: '10.0.0.1', label: 'x/a-1', ...from },
    to: { namespace: 'y', pod: 'b-1', ip: '10.0.0.2', label: 'y/b-1', ...to },
    sourcePort: 40000,
    destinationPort: 80,
    reply: false,
    node: 'n1',
    summary: '',
    ...rest,
  };
}
