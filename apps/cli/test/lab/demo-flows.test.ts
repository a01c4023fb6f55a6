// A step's flow summary from the observers' answers: replies are not counted twice, a
// drop the agent recorded no rule for says so, lost events and unreadable nodes are said;
// the L7 proxies' requests (flows of type L7) are counted apart, by request and answer.

import { type Flow, type GetFlowsResponse } from '@twill/flows';
import { describe, expect, it } from 'vitest';

import { stepFlowsText, summarizeStepFlows } from '../../src/lab/demo/flows.js';
import { styleFor } from '../../src/output.js';
import { FLOWS, L7_FLOWS } from '../observe/fixtures.js';

const plain = styleFor({ stdout: { write: () => undefined, isTTY: false }, env: {} });
const answer = (flow: Flow): GetFlowsResponse => ({ flow, nodeName: flow.nodeName, time: flow.time });

describe('summarizeStepFlows', () => {
  it('counts per pair without replies, names what dropped, adds up lost events, lists nodes that did not answer', () => {
    const undecided: Flow = { ...(FLOWS[2] as Flow), uuid: '6f1c2b1e-0a3d-4c5e-9f10-000000000099' };
    delete (undecided as { decidedBy?: unknown }).decidedBy;
    const summary = summarizeStepFlows([
      { node: 'node-1', responses: [...FLOWS.map(answer), answer(undecided), { lostEvents: { source: 'nflog', numEventsLost: 3 }, nodeName: 'node-1', time: { seconds: 0, nanos: 0 } }] },
      { node: 'node-2', problem: 'no observer at unix:///x.sock' },
    ]);
    expect(summary).toMatchObject({ nodes: ['node-1'], forwarded: 2, dropped: 4, lost: 3, problems: ['node-2: no observer at unix:///x.sock'] });
    expect(stepFlowsText(summary, plain)).toBe([
      'Flows the agents recorded in this step (node-1): 2 forwarded, 4 dropped, 3 lost',
      '  2 pairs only forwarded (2 flows)',
      '  PAIR                                       FORWARDED  DROPPED  DROPPED BY',
      '  203.0.113.7 -> production/frontend                 0        1  ingress: no policy programmed yet (fail-closed)',
      '  default/web -> production/api-server:8080          0        2  (no deciding rule recorded); ingress: isolated by NetworkPolicy production/allow-api',
      '  dev/tool -> production/database:5432               0        1  ingress: GlobalNetworkPolicy no-dev-to-prod spec.ingress[0]',
      'Flows of node-2: no observer at unix:///x.sock',
      '',
    ].join('\n'));
  });

  it('counts the L7 proxies\' requests apart from the pairs: by pair, method, path, status and verdict, denied ones with what denied them', () => {
    const [allowed, denied] = L7_FLOWS as [Flow, Flow, ...Flow[]];
    const again = (flow: Flow, n: number): Flow => ({ ...flow, uuid: `${flow.uuid.slice(0, -2)}${String(n).padStart(2, '0')}` });
    const summary = summarizeStepFlows([{ node: 'node-2', responses: [...FLOWS, ...L7_FLOWS, again(allowed, 50), again(allowed, 51), again(denied, 52)].map(answer) }]);
    // The L3/L4 counts are those of FLOWS alone.
    const l3l4 = summarizeStepFlows([{ node: 'node-2', responses: FLOWS.map(answer) }]);
    expect(summary).toMatchObject({ forwarded: 2, dropped: 3, pairs: l3l4.pairs, drops: l3l4.drops });
    expect(summary.requests).toEqual([
      { from: 'production/frontend', to: '203.0.113.80:80', method: 'POST', path: '/upload', code: 502, verdict: 'forwarded', decision: '-', requests: 1 },
      { from: 'production/frontend', to: 'production/api-server:8080', method: '?', path: '?', code: 400, verdict: 'error', decision: '-', requests: 1 },
      { from: 'production/frontend', to: 'production/api-server:8080', method: 'GET', path: '/api/v1/users?limit=1', code: 200, verdict: 'forwarded', decision: 'ingress: CiliumNetworkPolicy production/l7-api spec.ingress[0].toPorts[0].rules.http[0]', requests: 3 },
      { from: 'production/frontend', to: 'production/api-server:8080', method: 'DELETE', path: '/api/v1/users/7', code: 403, verdict: 'denied', decision: 'ingress: no HTTP rule of CiliumNetworkPolicy production/l7-api allows it', requests: 2 },
    ]);
    const text = stepFlowsText(summary, plain);
    expect(text).toContain([
      '  7 HTTP requests through the agents\' L7 proxies, 2 denied',
      '  HTTP REQUEST                                                                 STATUS  REQUESTS  VERDICT    DECIDED BY',
      '  production/frontend -> 203.0.113.80:80 POST /upload                             502         1  forwarded  -',
      '  production/frontend -> production/api-server:8080 ? ?                           400         1  error      -',
      '  production/frontend -> production/api-server:8080 GET /api/v1/users?limit=1     200         3  forwarded  ingress: CiliumNetworkPolicy production/l7-api spec.ingress[0].toPorts[0].rules.http[0]',
      '  production/frontend -> production/api-server:8080 DELETE /api/v1/users/7        403         2  DENIED     ingress: no HTTP rule of CiliumNetworkPolicy production/l7-api allows it',
      '',
    ].join('\n'));
    // Without L7 flows, no such lines.
    expect(stepFlowsText(l3l4, plain)).not.toContain('HTTP request');
  });
});
