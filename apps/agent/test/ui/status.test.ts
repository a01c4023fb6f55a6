// Where the dashboard's token is shown: in `/v1/status` on the API socket (mode 0600,
// root's: what `twill ui` reads), never on the health port, which any local user reaches.
import { request } from 'node:http';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type FixtureAgent, startFixtureAgent } from './fixture-agent.js';

function getStatus(target: { socketPath: string } | { host: string; port: number }): Promise<{ ui: { url: string } }> {
  return new Promise((resolve, reject) => {
    const req = request({ ...target, path: '/v1/status', headers: { host: 'localhost' } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve(JSON.parse(body) as { ui: { url: string } }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe("the dashboard's token in /v1/status", () => {
  let fixture: FixtureAgent;
  beforeAll(async () => {
    fixture = await startFixtureAgent({ pods: [] });
  }, 60_000);
  afterAll(async () => {
    await fixture?.stop();
  });

  it('is in the URL on the API socket, and not on the health port', async () => {
    expect((await getStatus({ socketPath: fixture.config.api.socket })).ui.url).toBe(`${fixture.origin}/#token=${fixture.token}`);
    const http = fixture.agent.http;
    expect((await getStatus({ host: http.host, port: http.port })).ui.url).toBe(`${fixture.origin}/`);
  });
});
