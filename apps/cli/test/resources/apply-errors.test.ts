// What `twill apply` says when the agent fails a batch: what was written (the agent's
// `applied`), a body too large for one request; and which 404 means "not found". Against a server on a scratch Unix
// socket answering as API.md says an agent does (a real agent's races and 1 MiB bodies
// are not reproducible on demand).

import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { twill } from '../helpers.js';

let dir = '';
let socket = '';
let server: Server;
let answer: { status: number; error: Record<string, unknown> } = { status: 500, error: {} };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'twt-cli-apply-'));
  socket = join(dir, 'api.sock');
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: answer.error })));
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

const FILES = { 'ns.yaml': ['a', 'b', 'c'].map((name) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`).join('---\n') };
const apply = () => twill(['apply', '-f', 'ns.yaml', '--agent-socket', socket], { files: FILES });

describe('twill apply when the agent fails the batch', () => {
  it('says the first documents were applied when the agent wrote them before failing', async () => {
    answer = { status: 409, error: { code: 'Conflict', message: 'Namespace c: the object has been modified (items 0 to 1 were applied)', index: 2, applied: 2 } };
    const run = await apply();
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/\(agent: 409 Conflict; the first 2 documents were applied\)\n$/);
    expect(run.stderr).not.toContain('nothing was written');
  });

  it('says nothing was written only when the agent says so', async () => {
    answer = { status: 409, error: { code: 'Conflict', message: 'Namespace c: stale', index: 2, applied: 0 } };
    expect((await apply()).stderr).toMatch(/\(agent: 409 Conflict; nothing was written\)\n$/);
    // An agent that does not say (no `applied`): no claim either way.
    answer = { status: 503, error: { code: 'Unavailable', message: 'the store stayed contended', index: 1 } };
    const run = await apply();
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/\(agent: 503 Unavailable\)\n$/);
  });

  it('a body too large for one request: apply fewer files at a time', async () => {
    answer = { status: 413, error: { code: 'TooLarge', message: 'the request body is larger than 1048576 bytes (1 MiB): send fewer items per request' } };
    expect(await apply()).toEqual({
      code: 1,
      stdout: '',
      stderr: 'twill: apply: the 3 documents are more than the agent takes in one request (1 MiB): apply fewer files at a time (agent: 413 TooLarge; nothing was written)\n',
    });
  });
});

describe('a 404 is "not found" only when the agent says the object is missing', () => {
  const del = () => twill(['delete', 'netpol', 'web', '-n', 'shop', '--ignore-not-found', '--agent-socket', socket]);
  const get = () => twill(['get', 'netpol', 'web', '-n', 'shop', '--agent-socket', socket]);

  it('NotFound: the object is not there (delete --ignore-not-found succeeds)', async () => {
    answer = { status: 404, error: { code: 'NotFound', message: 'no NetworkPolicy shop/web (networkpolicies.networking.k8s.io)' } };
    expect(await del()).toEqual({ code: 0, stdout: '', stderr: '' });
    expect((await get()).stderr).toBe('twill: get: networkpolicy.networking.k8s.io "web" not found in namespace shop\n');
  });

  it('an unknown kind or path (an older agent) is a failure with the agent\'s words, never ignored', async () => {
    answer = { status: 404, error: { code: 'UnknownKind', message: 'unknown resource kind "networkpolicies.networking.k8s.io"' } };
    expect(await del()).toEqual({ code: 1, stdout: '', stderr: `twill: delete: unknown resource kind "networkpolicies.networking.k8s.io" (agent at ${socket}: 404 UnknownKind)\n` });
    answer = { status: 404, error: { code: 'NoSuchPath', message: 'no such path "/v1/resources/networkpolicies.networking.k8s.io/web"' } };
    expect(await get()).toEqual({ code: 1, stdout: '', stderr: `twill: get: no such path "/v1/resources/networkpolicies.networking.k8s.io/web" (agent at ${socket}: 404 NoSuchPath)\n` });
  });
});
