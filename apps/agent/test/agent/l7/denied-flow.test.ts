// A connection the L7 proxy refused at L3/L4 becomes the drop the kernel would have
// reported: where it is attributed (the destination's ingress on this node, else the
// client's egress) and what it says (TCP SYN, denied by policy, both ends).
import { describe, expect, it } from 'vitest';

import { type FlowEndpointInfo } from '../../../src/agent/flows/policy-view.js';
import { proxyDeniedEvent } from '../../../src/agent/l7/denied-flow.js';

const endpoint = (key: string, hostInterface?: string): FlowEndpointInfo => {
  const [namespace = '', name = ''] = key.split('/');
  return { key, ref: { namespace, name }, labels: {}, identity: 1 as FlowEndpointInfo['identity'], ...(hostInterface === undefined ? {} : { hostInterface }) };
};

// frontend and api on this node; remote on another node.
const ENDPOINTS = new Map<string, FlowEndpointInfo>([
  ['10.0.0.1', endpoint('default/frontend', 'twfrontend')],
  ['10.0.0.2', endpoint('default/api', 'twapi')],
  ['10.0.1.9', endpoint('default/remote')],
]);
const view = { endpointByAddress: (address: string) => ENDPOINTS.get(address) };

describe('proxyDeniedEvent', () => {
  it('is a denied TCP SYN at the destination\'s ingress when the destination is on this node', () => {
    expect(proxyDeniedEvent(view, { address: '10.0.1.9', port: 40000 }, { address: '10.0.0.2', port: 8080 }, 1_000)).toEqual({
      timeMs: 1_000, ifindex: 0, endpoint: 'default/api', direction: 'ingress', verdict: 'deny', reason: 'policy',
      protocol: 6, source: '10.0.1.9', destination: '10.0.0.2', sourcePort: 40000, destinationPort: 8080, tcpFlags: 0x02,
    });
  });

  it('is at the client\'s egress when the destination is not on this node', () => {
    expect(proxyDeniedEvent(view, { address: '10.0.0.1', port: 40001 }, { address: '10.0.1.9', port: 80 }, 2_000)).toMatchObject({ endpoint: 'default/frontend', direction: 'egress', destination: '10.0.1.9', destinationPort: 80 });
  });

  it('names no endpoint when neither side is known', () => {
    const event = proxyDeniedEvent(view, { address: '192.0.2.1', port: 1 }, { address: '192.0.2.2', port: 2 }, 3_000);
    expect(event).not.toHaveProperty('endpoint');
    expect(event).toMatchObject({ direction: 'egress', verdict: 'deny' });
  });
});
