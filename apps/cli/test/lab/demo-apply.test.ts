// The demonstration applies its steps through a real twill-agent's API (API.md POST
// /v1/resources) and waits until the agent's policy controller has read each one; a
// document the agent refuses stops it with the agent's one-line error.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { nodeIo, type AgentResource } from '@twill/cli';

import { type Lab, type LabNode } from '../../src/lab/ports.js';
import { applyThroughAgents } from '../../src/lab/demo/demo.js';
import { yamlDocuments } from '../../src/lab/demo/l7.js';
import { DEMO_STEPS } from '../../src/lab/demo/steps.js';
import { DEMO_POLICIES_DIR, nodeDemoSystem } from '../../src/lab/demo/sys/system.js';
import { startTestAgent, type TestAgent } from '../agent-harness.js';

let agent: TestAgent;
beforeAll(async () => {
  agent = await startTestAgent();
}, 120_000);
afterAll(async () => {
  await agent?.stop();
});

function labWith(apiSocket: string): Lab {
  const node = { name: agent.nodeName, apiSocket } as LabNode;
  return { nodes: [node] } as unknown as Lab;
}

const stepDocuments = (file: string): AgentResource[] => yamlDocuments(readFileSync(join(DEMO_POLICIES_DIR, file), 'utf8')) as AgentResource[];

describe('applying the steps through the agent', () => {
  it('stores each step and returns once the policy controller has read it, with no problem', async () => {
    const io = nodeIo();
    const counts: number[] = [];
    for (const step of DEMO_STEPS) {
      expect(await applyThroughAgents(labWith(agent.apiSocket), io, stepDocuments(step.file), { timeoutMs: 20_000, system: nodeDemoSystem() })).toEqual([]);
      counts.push((await agent.client.status()).controllers.policy?.policies ?? -1);
    }
    // Every step added policies the controller counts (a policy's parts may count apart).
    for (let i = 1; i < counts.length; i += 1) expect(counts[i]).toBeGreaterThan(counts[i - 1] as number);
    const stored = await agent.client.list('globalnetworkpolicies.projectcalico.org');
    expect(stored.map((r) => r.metadata.name)).toEqual(['allow-frontend-egress', 'default-deny']);
    const cilium = await agent.client.list('ciliumnetworkpolicies.cilium.io', { namespace: 'default' });
    expect(cilium.map((r) => r.metadata.name)).toEqual(['l7-api-policy']);
  }, 120_000);

  it('stops at a document the agent refuses, saying what and where', async () => {
    const bad = { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'bad' }, spec: { selector: 'app ==', types: ['Ingress'] } };
    await expect(applyThroughAgents(labWith(agent.apiSocket), nodeIo(), [bad], { timeoutMs: 5000, system: nodeDemoSystem() })).rejects.toThrow(/^GlobalNetworkPolicy bad: spec.selector: selector "app ==" at 6: expected a quoted string \(agent at .*api.sock: 422 Invalid\)$/);
  }, 60_000);
});
