// A step's flow summary from the observers' answers: replies are not counted twice, a
// drop the agent recorded no rule for says so, lost events and unreadable nodes are said.

import { type Flow, type GetFlowsResponse } from '@twill/flows';
import { describe, expect, it } from 'vitest';

import { stepFlowsText, summarizeStepFlows } from '../../src/lab/demo/flows.js';
import { styleFor } from '../../src/output.js';
import { FLOWS } from '../observe/fixtures.js';

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
});
