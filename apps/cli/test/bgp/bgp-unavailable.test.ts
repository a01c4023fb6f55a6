// twill bgp against a real agent that runs no BGP (routing "none", the harness's):
// exit 1 with the agent's reason, not a stack or an empty table.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startTestAgent, type TestAgent } from '../agent-harness.js';
import { twill } from '../helpers.js';

describe('twill bgp when the agent runs no BGP', () => {
  let agent: TestAgent;

  beforeAll(async () => {
    agent = await startTestAgent();
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
  });

  it('peers and routes say BGP is not running and why, exit 1', async () => {
    for (const command of ['peers', 'routes']) {
      const run = await twill(['bgp', command, '--agent-socket', agent.apiSocket]);
      expect(run).toEqual({
        code: 1,
        stdout: '',
        stderr: `twill: bgp ${command}: BGP is not running on this node: routing is "none" (routing "bgp" runs it) (agent at ${agent.apiSocket}: 503 Unavailable)\n`,
      });
    }
  });
});
