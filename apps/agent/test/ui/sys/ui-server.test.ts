// The dashboard server's guard on a real socket: a token made at each start that the API
// and the live flows need (the page's files do not), `ui.token: false` turning it off,
// and the Host check letting a forward's port through.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type ApiSource } from '../../../src/agent/api/source.js';
import { AgentConfigError, parseAgentConfigText, resolveAgentConfig } from '../../../src/agent/config.js';
import { listenUi, type UiServer } from '../../../src/agent/ui/sys/ui-server.js';

// What the routes answer from: nothing the guarded paths below reach.
const source = { api: {} as ApiSource, node: 'node-a', flows: { unavailable: 'flows are off' } };

function get(server: UiServer, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.address.port, path, headers: { host: `127.0.0.1:${server.address.port}`, ...headers } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the dashboard server', () => {
  let assets: string;
  beforeAll(async () => {
    assets = await mkdtemp(join(tmpdir(), 'twt-ui-assets-'));
    await writeFile(join(assets, 'index.html'), '<!doctype html><title>twill</title>');
  });
  afterAll(async () => {
    await rm(assets, { recursive: true, force: true });
  });

  it('makes a new token at each start, which the API needs and the page does not', async () => {
    const [a, b] = await Promise.all([0, 1].map(() => listenUi({ listen: { host: '127.0.0.1', port: 0 }, assetsDir: assets, source })));
    try {
      expect(a!.token).toMatch(/^[\w-]{43}$/u);
      expect(b!.token).not.toBe(a!.token);
      const bare = await get(a!, '/api/nothing');
      expect(bare.status).toBe(401);
      expect(JSON.parse(bare.body).error.code).toBe('Unauthorized');
      // The other start's token is not this one's.
      expect((await get(a!, '/api/nothing', { authorization: `Bearer ${b!.token}` })).status).toBe(401);
      expect((await get(a!, '/api/nothing', { authorization: `Bearer ${a!.token}` })).status).toBe(404);
      expect((await get(a!, `/api/ui/events?token=${a!.token}`)).body).toBe('flows are off\n');
      expect(await get(a!, '/')).toEqual({ status: 200, body: '<!doctype html><title>twill</title>' });
      // Through a forward the browser names the forward's port.
      expect((await get(a!, '/', { host: 'localhost:41234' })).status).toBe(200);
      expect((await get(a!, '/', { host: 'rebound.example:41234' })).status).toBe(403);
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  it('answers without a token with token: false (ui.token: false), as before', async () => {
    const server = await listenUi({ listen: { host: '127.0.0.1', port: 0 }, assetsDir: assets, source, token: false });
    try {
      expect(server.token).toBeUndefined();
      expect((await get(server, '/api/nothing')).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});

describe('ui.token in the agent configuration', () => {
  const FILE = '/etc/twill/agent.yaml';
  const resolve = (content: string) => resolveAgentConfig({ file: { path: FILE, settings: parseAgentConfigText(FILE, `nodeAddresses: {ipv4: 10.0.0.1/24}\n${content}`) }, flags: {}, hostname: 'node-a' }).ui;

  it('is on unless ui.token is false', () => {
    expect(resolve('').token).toBeUndefined();
    expect(resolve('ui: {token: true}\n').token).toBeUndefined();
    expect(resolve('ui: {token: false}\n').token).toBe(false);
  });

  it('says what is wrong with a value that is not a boolean', () => {
    expect(() => resolve('ui: {token: "off"}\n')).toThrow(AgentConfigError);
    expect(() => resolve('ui: {token: "off"}\n')).toThrow(/^\/etc\/twill\/agent\.yaml: ui\.token: /u);
  });
});
