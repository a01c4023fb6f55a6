// The dashboard's pure routes: what a request that is refused gets, and the names the
// page groups pods by.
import { describe, expect, it } from 'vitest';

import { type Flow } from '@twill/flows';

import { FlowPolicies } from '../../src/agent/flows/attribution.js';
import { buildL7Flow, l7Decision } from '../../src/agent/flows/l7-flow.js';
import { type L7FlowRecord } from '../../src/agent/l7/ports.js';
import { uiFlowOf } from '../../src/agent/ui/flow-view.js';
import { appOf, hostAllowed, refuseUiRequest, type UiGuard, withUiToken } from '../../src/agent/ui/router.js';

describe('the dashboard routes', () => {
  const TOKEN = 'aGVsbG8td29ybGQtdG9rZW4tZm9yLXRlc3Rz';
  const guard: UiGuard = { listenHost: '127.0.0.1', token: TOKEN };
  const get = (url: string, more: { host?: string; authorization?: string } = {}) => refuseUiRequest({ method: 'GET', url, host: more.host ?? '127.0.0.1:9098', authorization: more.authorization }, guard);

  it("answers only this host's loopback names, on any port (a forward's), never another name (DNS rebinding)", () => {
    for (const host of ['127.0.0.1:9098', 'localhost:9098', '[::1]:9098', 'LOCALHOST:41234', '127.0.0.1:1', '127.0.0.1']) expect(hostAllowed(host, '127.0.0.1'), host).toBe(true);
    for (const host of ['evil.example:9098', 'evil.example', '127.0.0.1.nip.io:9098', '127.0.0.1:0', '127.0.0.1:65536', '127.0.0.1:80:80', '', 'localhost:x']) expect(hostAllowed(host, '127.0.0.1'), host).toBe(false);
    expect(hostAllowed(undefined, '127.0.0.1')).toBe(false);
    // Another loopback address the agent listens on is its own name too.
    expect(hostAllowed('127.0.0.2:9098', '127.0.0.2')).toBe(true);
    expect(hostAllowed('127.0.0.2:9098', '127.0.0.1')).toBe(false);
    expect(hostAllowed('[::1]:9', '::1')).toBe(true);
    const refused = get('/', { host: 'evil.example:9098' });
    expect(refused?.status).toBe(403);
    expect(JSON.parse(refused!.body).error.message).toBe('the dashboard answers only requests for localhost, 127.0.0.1, [::1] (any port) (Host was "evil.example:9098")');
    // ui.listenInsecure: any Host.
    expect(refuseUiRequest({ method: 'GET', url: '/', host: 'node-a.example:9098' }, { listenHost: undefined, token: undefined })).toBeUndefined();
  });

  it('is read-only: every method but GET and HEAD is refused with Allow', () => {
    const refused = refuseUiRequest({ method: 'POST', url: '/api/v1/ipam/release', host: '127.0.0.1:9098', authorization: `Bearer ${TOKEN}` }, guard);
    expect(refused).toMatchObject({ status: 405, headers: { allow: 'GET, HEAD' } });
    expect(JSON.parse(refused!.body).error.message).toContain('the dashboard is read-only');
  });

  it("refuses the API and the live flows without this start's token (401 saying where the URL is); the page's files need none", () => {
    for (const url of ['/api/ui/endpoints', '/api/v1/status', '/api/ui/events', '/api/nothing']) {
      const refused = get(url);
      expect(refused, url).toMatchObject({ status: 401, headers: { 'www-authenticate': 'Bearer realm="twill-ui"' } });
      expect(JSON.parse(refused!.body).error).toEqual({ code: 'Unauthorized', message: 'no token: open the dashboard at the address `twill ui` prints (it carries this agent start\'s token)' });
    }
    for (const wrong of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, 'Bearer x', `Basic ${TOKEN}`]) {
      const refused = get('/api/ui/endpoints', { authorization: wrong });
      expect(refused?.status, wrong).toBe(401);
    }
    expect(JSON.parse(get('/api/ui/endpoints', { authorization: 'Bearer nope' })!.body).error.message).toMatch(/^a wrong token: /u);
    expect(get('/api/ui/endpoints', { authorization: `Bearer ${TOKEN}` })).toBeUndefined();
    expect(get('/api/v1/status', { authorization: `bearer  ${TOKEN}` })).toBeUndefined();
    // EventSource sets no header: the stream takes the token in its query, nothing else does.
    expect(get(`/api/ui/events?token=${TOKEN}`)).toBeUndefined();
    expect(get(`/api/ui/events?token=${TOKEN}x`)?.status).toBe(401);
    expect(get(`/api/ui/endpoints?token=${TOKEN}`)?.status).toBe(401);
    for (const url of ['/', '/index.html', '/assets/index-x.js', '/favicon.ico']) expect(get(url), url).toBeUndefined();
    // ui.token: false: the API answers anyone, as before.
    expect(refuseUiRequest({ method: 'GET', url: '/api/ui/endpoints', host: 'localhost:9098' }, { listenHost: '127.0.0.1', token: undefined })).toBeUndefined();
  });

  it('puts the token in the URL fragment, which a browser never sends', () => {
    expect(withUiToken('http://127.0.0.1:9098/', 'a-b_c')).toBe('http://127.0.0.1:9098/#token=a-b_c');
    expect(withUiToken('http://[::1]:9098/', undefined)).toBe('http://[::1]:9098/');
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

  it("carries an L7 flow's request (method, URL, status, latency) and names the policy that denied it", () => {
    const record: L7FlowRecord = {
      time: 1_700_000_000_250,
      client: { address: '10.244.0.2', port: 41000 },
      destination: { address: '10.244.0.3', port: 8080 },
      protocol: 'HTTP/1.1',
      method: 'POST',
      path: '/api/v1/users',
      host: '10.244.0.3:8080',
      status: 403,
      latencyNs: 1_234_567,
      verdict: 'denied',
      rules: [],
      why: 'no HTTP rule of CiliumNetworkPolicy default/l7-api-policy (ingress) allows POST /api/v1/users',
    } as L7FlowRecord;
    const endpoint = (podName: string) => ({ ID: 1, identity: 300, namespace: 'default', podName, labels: [`k8s:app=${podName}`] });
    const flow = buildL7Flow(record, { uuid: 'l7-1', nodeName: 'node-a', client: endpoint('frontend') as never, destination: endpoint('api') as never, direction: 'INGRESS', decision: l7Decision(record, 'INGRESS', new FlowPolicies()) });
    const ui = uiFlowOf(flow);
    expect(ui).toMatchObject({
      verdict: 'DROPPED',
      protocol: 'TCP',
      from: { label: 'default/frontend' },
      to: { label: 'default/api' },
      destinationPort: 8080,
      decidedBy: 'ingress: isolated by CiliumNetworkPolicy default/l7-api-policy',
      l7: { type: 'RESPONSE', latencyNs: 1_234_567, http: { code: 403, method: 'POST', url: 'http://10.244.0.3:8080/api/v1/users', protocol: 'HTTP/1.1' } },
    });
    // An L3/L4 flow has none.
    expect('l7' in uiFlowOf({ ...flow, l7: undefined, Type: 'L3_L4' } as unknown as Flow)).toBe(false);
  });
});
