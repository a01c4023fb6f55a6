// The agent client over its real transport (node:http on a Unix socket) against a
// server on a scratch socket that answers as API.md says an agent does, and as one
// should not: what each command would print, and with which exit code.

import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AgentApiError, AgentProtocolError, AgentTransportError, type AgentUnreachableError, createAgentClient, unixHttpTransport, type AgentClient } from '@twill/cli';

let dir = '';
let socket = '';
let server: Server;
const seen: { method: string; url: string; contentType: string | undefined; body: string }[] = [];

const body = (request: IncomingMessage): Promise<string> =>
  new Promise((resolve) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    request.on('end', () => resolve(text));
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'twt-cli-client-'));
  socket = join(dir, 'api.sock');
  server = createServer((request, response) => {
    void body(request).then((text) => {
      seen.push({ method: request.method ?? '', url: request.url ?? '', contentType: request.headers['content-type'], body: text });
      const json = (status: number, value: unknown): void => {
        response.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(value)}\n`);
      };
      if (request.url === '/v1/kinds') return response.writeHead(200).end('<html>not the agent</html>');
      if (request.url === '/v1/endpoints') return undefined; // never answers
      if (request.url?.startsWith('/v1/resources/ippools.projectcalico.org/')) return json(404, { error: { code: 'NotFound', message: 'ippools.projectcalico.org "x y" not found' } });
      if (request.method === 'POST' && request.url === '/v1/resources?dryRun=true') {
        return json(422, { error: { code: 'Invalid', message: 'IPPool a: invalid CIDR "10.300.0.0/16"', field: 'spec.cidr', index: 1 } });
      }
      if (request.url === '/v1/ipam/check') return json(500, { oops: true });
      if (request.url?.startsWith('/v1/resources/pods')) return json(200, { items: [] });
      return json(404, { error: { code: 'NotFound', message: `no path ${request.url ?? ''}` } });
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

const client = (path = socket, timeoutMs?: number): AgentClient =>
  createAgentClient({ transport: unixHttpTransport(path, timeoutMs === undefined ? {} : { timeoutMs }), socketPath: path, command: 'get' });

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('the agent client on a Unix socket', () => {
  it('sends the query, the path segments encoded, and JSON bodies', async () => {
    expect(await client().list('pods', { namespace: 'shop' })).toEqual([]);
    await failure(client().get('ippools.projectcalico.org', 'x y'));
    await failure(client().apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } }], { dryRun: true }));
    expect(seen.slice(-3).map(({ method, url, contentType, body: text }) => ({ method, url, contentType, text }))).toEqual([
      { method: 'GET', url: '/v1/resources/pods?namespace=shop', contentType: undefined, text: '' },
      { method: 'GET', url: '/v1/resources/ippools.projectcalico.org/x%20y', contentType: undefined, text: '' },
      { method: 'POST', url: '/v1/resources?dryRun=true', contentType: 'application/json', text: '{"items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}]}' },
    ]);
  });

  it('API errors: the message, where it came from, exit 1; 422 is exit 2 with the field and item', async () => {
    const notFound = await failure(client().get('ippools.projectcalico.org', 'x y'));
    expect(notFound).toBeInstanceOf(AgentApiError);
    expect((notFound as AgentApiError).line()).toBe(`twill: get: ippools.projectcalico.org "x y" not found (agent at ${socket}: 404 NotFound)`);
    expect((notFound as AgentApiError).exitCode).toBe(1);
    const invalid = (await failure(client().apply([], { dryRun: true }))) as AgentApiError;
    expect([invalid.code, invalid.exitCode, invalid.body.field, invalid.body.index]).toEqual(['Invalid', 2, 'spec.cidr', 1]);
  });

  it('answers that are not the API\'s are exit 1 saying so', async () => {
    const html = await failure(client().kinds());
    expect(html).toBeInstanceOf(AgentProtocolError);
    expect((html as AgentProtocolError).line()).toBe(`twill: get: the agent at ${socket} answered GET /v1/kinds with 200 and a body that is not JSON: "<html>not the agent</html>"`);
    expect((await failure(client().ipamCheck())).message).toBe(`the agent at ${socket} answered GET /v1/ipam/check with 500 and no error message`);
  });

  it('no agent, not a socket, no answer in time: exit 1 naming the socket', async () => {
    const missing = join(dir, 'missing.sock');
    const gone = (await failure(client(missing).status())) as AgentUnreachableError;
    expect([gone.code, gone.exitCode, gone.line()]).toEqual(['ENOENT', 1, `twill: get: no agent at ${missing} (is twill-agent running? --agent-socket or TWILL_API_SOCKET)`]);
    const file = join(dir, 'plain-file');
    await writeFile(file, 'not a socket\n');
    expect((await failure(client(file).status())).message).toBe(`no agent at ${file} (is twill-agent running? --agent-socket or TWILL_API_SOCKET)`);
    const slow = (await failure(client(socket, 300).endpoints())) as AgentUnreachableError;
    expect([slow.code, slow.line()]).toEqual(['TIMEOUT', `twill: get: the agent at ${socket} did not answer: no answer within 0.3 s`]);
  });

  it('a socket that is not ours to open says root is needed', async () => {
    // Root opens any socket, so the refusal comes from a transport that reports it.
    const denied = createAgentClient({
      transport: { request: () => Promise.reject(new AgentTransportError('EACCES', `connect EACCES ${socket}`)) },
      socketPath: '/run/twill/api.sock',
      command: 'status',
    });
    expect((await failure(denied.status()) as AgentUnreachableError).line()).toBe("twill: status: permission denied on /run/twill/api.sock: the agent's API is for root only (run twill with sudo)");
  });
});
