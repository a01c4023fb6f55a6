// The dashboard's pure routes: what a request that is refused gets, and the names the
// page groups pods by.
import { describe, expect, it } from 'vitest';

import { type Flow } from '@twill/flows';

import { uiFlowOf } from '../../src/agent/ui/flow-view.js';
import { allowedHosts, appOf, refuseUiRequest } from '../../src/agent/ui/router.js';

describe('the dashboard routes', () => {
  const hosts = allowedHosts({ host: '127.0.0.1', port: 9098 });

  it('answers only the listening address and localhost (no DNS rebinding)', () => {
    expect(hosts).toEqual(['127.0.0.1:9098', 'localhost:9098', '[::1]:9098']);
    expect(refuseUiRequest({ method: 'GET', url: '/', host: 'localhost:9098' }, hosts)).toBeUndefined();
    const refused = refuseUiRequest({ method: 'GET', url: '/', host: 'evil.example:9098' }, hosts);
    expect(refused?.status).toBe(403);
    expect(JSON.parse(refused!.body).error.message).toBe('the dashboard answers only requests for 127.0.0.1:9098, localhost:9098, [::1]:9098 (Host was "evil.example:9098")');
  });

  it('is read-only: every method but GET and HEAD is refused with Allow', () => {
    const refused = refuseUiRequest({ method: 'POST', url: '/api/v1/ipam/release', host: '127.0.0.1:9098' }, hosts);
    expect(refused).toMatchObject({ status: 405, headers: { allow: 'GET, HEAD' } });
    expect(JSON.parse(refused!.body).error.message).toContain('the dashboard is read-only');
  });

  it('groups a pod by its app label, else by its name without the last suffix', () => {
    expect(appOf('web-7d9f-abc', { app: 'shop' })).toBe('shop');
    expect(appOf('web-0', { 'app.kubernetes.io/name': 'web' })).toBe('web');
    expect(appOf('postgres-0', {})).toBe('postgres');
    expect(appOf('tool', {})).toBe('tool');
  });

  it('shows a flow with its pods, ports and what decided, in explain\'s words', () => {
    const flow = {
      time: { seconds: 1_700_000_000, nanos: 5_000_000 },
      uuid: 'u1',
      verdict: 'DROPPED',
      dropReasonDesc: 'POLICY_DENIED',
      IP: { source: '203.0.113.7', destination: '10.0.0.5', ipVersion: 'IPv4' },
      l4: { TCP: { sourcePort: 5555, destinationPort: 80 } },
      source: { ID: 0, identity: 2, labels: ['reserved:world'] },
      destination: { ID: 1, identity: 300, namespace: 'x', podName: 'web', labels: ['k8s:app=web'] },
      Type: 'L3_L4',
      nodeName: 'node-a',
      isReply: false,
      trafficDirection: 'INGRESS',
      egressAllowedBy: [],
      ingressAllowedBy: [],
      egressDeniedBy: [],
      ingressDeniedBy: [],
      Summary: 'TCP Flags: SYN',
      decidedBy: { reason: 'isolated', direction: 'ingress', isolatedBy: [{ name: 'deny-in', namespace: 'x', labels: [], revision: 3, kind: 'NetworkPolicy' }], attribution: 'evaluated', message: '' },
    } as unknown as Flow;
    expect(uiFlowOf(flow)).toEqual({
      id: 'u1',
      timeMs: 1_700_000_000_005,
      verdict: 'DROPPED',
      dropReason: 'POLICY_DENIED',
      protocol: 'TCP',
      from: { ip: '203.0.113.7', label: 'reserved:world 203.0.113.7' },
      to: { namespace: 'x', pod: 'web', ip: '10.0.0.5', label: 'x/web' },
      sourcePort: 5555,
      destinationPort: 80,
      reply: false,
      decidedBy: 'ingress: isolated by NetworkPolicy x/deny-in',
      node: 'node-a',
      summary: 'TCP Flags: SYN',
    });
  });
});
