/// <reference lib="dom" />
// The dashboard against the real agent with real pods, as root: `twill-agent run` (from
// the sources) in a scratch node namespace with the dashboard on 127.0.0.1:9098 there,
// three pods added through the installed conflist, the seed tutorial's l7-api-policy
// from the datastore, and real connections made with curl inside the pods' namespaces.
// Debian's chromium runs inside the node namespace (`ip netns exec`; playwright talks to
// it over a pipe), so it reaches the dashboard on the node's own loopback, where `twill
// ui` would forward. The URL with its token comes from the agent's API socket
// (`/v1/status` `ui.url`). What a user sees: the three pods on the map; a connection the
// policy denies (other to api's 8080) as a red edge within 2 s; the proxy's 403 of a POST
// from frontend in the flows table with method, path and status; the policy view's
// answer to "can frontend reach api on 8080" naming l7-api-policy. Screenshots go to
// test-results/ui/.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join, resolve } from 'node:path';

import { loadNetworkConfigListFromDir } from '@twill/cni-core';
import { rootSkipReason, type ScratchNetns } from '@twill/sys/testing';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { RealAgent, run, seedResources } from '../agent/real-agent.js';
import { NodeLab, podIp } from '../plugin/node-lab.js';
import { ensureUiBuilt } from './fixture-agent.js';

const CHROMIUM = '/usr/bin/chromium';
const reason = rootSkipReason() ?? (existsSync(CHROMIUM) ? undefined : `no ${CHROMIUM}`);
const ARTIFACTS = resolve(import.meta.dirname, '../../test-results/ui');

/** GET on the agent's API socket (what `twill ui` reads the dashboard's URL from). */
function apiGet(socketPath: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const req = request({ socketPath, path, method: 'GET', timeout: 10_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => done({ status: response.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} on ${socketPath} timed out`)));
    req.on('error', fail);
    req.end();
  });
}

// The API pod's server on 8080: answers every request (so a 403 can only come from the proxy).
const SERVER = `require('http').createServer((req, res) => res.end('api ' + req.method + ' ' + req.url)).listen(8080, '::', () => console.log('ready'));`;

describe.skipIf(reason)(`the dashboard of a real twill-agent with real pods, in chromium, as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let lab: NodeLab;
  let agent: RealAgent;
  let browser: BrowserContext | undefined;
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    lab = await NodeLab.create();
    agent = new RealAgent(lab, { ui: '{listen: "127.0.0.1:9098"}' });
    browser = undefined;
  });

  afterEach(async () => {
    await browser?.close().catch(() => undefined);
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await agent.kill();
    await lab.cleanup();
  });

  /** curl from inside a pod: the status (0 when no HTTP answer came). */
  const curl = async (from: ScratchNetns, method: string, url: string): Promise<number> => {
    const { stdout } = await run('ip', ['netns', 'exec', from.name, 'curl', '-sS', '-m', '3', '-X', method, '-o', '/dev/null', '-w', '%{http_code}', url]);
    return Number(stdout.trim());
  };

  it('shows the pods, a denied connection as a red edge within 2 s, the proxy\'s 403 with method, path and status, and the L7 policy that decides', { timeout: 300_000 }, async () => {
    // The page the agent serves, built from the sources.
    ensureUiBuilt();
    await mkdir(ARTIFACTS, { recursive: true });
    const confDir = agent.confDir;
    expect((await agent.installCni()).code).toBe(0);
    await agent.apply(await seedResources());

    // The dashboard's URL, with this start's token, once the agent serves it.
    let url = '';
    await agent.start(async () => {
      const status = await apiGet(agent.apiSocket, '/v1/status');
      expect(status.status).toBe(200);
      const ui = (JSON.parse(status.body) as { ui: { listening?: boolean; url?: string } }).ui;
      expect(ui.listening).toBe(true);
      url = ui.url ?? '';
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:9098\/#token=[\w-]{43}$/u);

    const list = await loadNetworkConfigListFromDir('twill-test', confDir);
    const runtime = lab.runtime();
    const names = ['frontend', 'api', 'other'];
    const pods = names.map(() => lab.scratch.netns());
    const results = await Promise.all(pods.map((netns, i) => runtime.add(list, { containerId: `ui-${i}`, netns: netns.path, ifName: 'eth0', args: [['K8S_POD_NAMESPACE', 'default'], ['K8S_POD_NAME', names[i]!]] })));
    const apiIp = podIp(results[1]!);
    const [frontend, api, other] = pods as [ScratchNetns, ScratchNetns, ScratchNetns];
    const server = spawn('ip', ['netns', 'exec', api.name, process.execPath, '-e', SERVER], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(server);
    let served = '';
    server.stdout.on('data', (chunk: Buffer) => (served += chunk.toString()));
    server.stderr.on('data', (chunk: Buffer) => (served += chunk.toString()));
    await vi.waitFor(() => expect(served).toContain('ready'), { timeout: 10_000, interval: 100 });
    const api8080 = `http://${apiIp}:8080`;
    // The policy is in force (the proxy serves frontend's allowed requests) before the browser looks.
    await vi.waitFor(async () => expect(await curl(frontend, 'GET', `${api8080}/api/v1/users`)).toBe(200), { timeout: 30_000, interval: 250 });

    // Chromium in the node's namespace: a wrapper playwright starts as the browser.
    const wrapper = join(lab.dir, 'chromium-in-node');
    await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec ${lab.node.name} ${CHROMIUM} "$@"\n`);
    await chmod(wrapper, 0o755);
    const profile = join(lab.dir, 'chromium-profile');
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: wrapper,
      headless: true,
      viewport: { width: 1280, height: 800 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = browser.pages()[0] ?? (await browser.newPage());
    const origin = new URL(url).origin;
    await page.route('**/*', (route) => (route.request().url().startsWith(`${origin}/`) ? route.continue() : route.abort()));
    await page.goto(url);

    // The map: the three pods.
    await page.getByRole('img', { name: 'Service map of 3 pods' }).waitFor({ timeout: 20_000 });
    for (const name of names) expect(await page.locator(`circle[data-pod="default/${name}"]`).count(), name).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, 'pods-map.png') });

    // A real connection the policy denies, dropped by the kernel: other to api's 9090 (api
    // is isolated by l7-api-policy, which admits frontend on 8080 only). Red within 2 s of
    // the attempt (curl gives up after 3 s: no answer ever comes).
    const attempt = curl(other, 'GET', `http://${apiIp}:9090/`);
    const denied = page.locator('line.edge-denied[data-from="default/other"][data-to="default/api"]');
    await denied.waitFor({ state: 'attached', timeout: 2000 });
    expect(await denied.evaluate((el) => getComputedStyle(el).stroke)).toBe('rgb(209, 44, 44)');
    expect(await attempt).toBe(0);
    // Nothing from other on 8080 either (the agent's proxy closes the connection).
    expect(await curl(other, 'GET', `${api8080}/api/v1/users`)).toBe(0);
    await page.screenshot({ path: join(ARTIFACTS, 'pods-map-denied-edge.png') });

    // An L7 denial: POST from frontend, answered 403 by the agent's proxy.
    expect(await curl(frontend, 'POST', `${api8080}/api/v1/users`)).toBe(403);
    await page.getByRole('tab', { name: 'Flows' }).click();
    await page.getByLabel('HTTP method').selectOption('POST');
    const rows = page.getByRole('table', { name: 'Flows, newest first' }).locator('tbody tr');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    const row = (await rows.first().locator('td').allTextContents()).map((t) => t.trim());
    expect(row[1]).toMatch(/^default\/frontend:\d+$/u);
    expect(row[2]).toBe('default/api:8080');
    expect(row[4]).toMatch(/^POST \/api\/v1\/users → 403 \(\d+(\.\d)? (µs|ms|s)\)$/u);
    expect(row[5]).toContain('DROPPED');
    expect(row[6]).toBe('ingress: isolated by CiliumNetworkPolicy default/l7-api-policy');
    // The status in the verdict's colour.
    expect(await rows.first().locator('td').nth(4).locator('span').evaluate((el) => getComputedStyle(el).color)).toBe('rgb(209, 44, 44)');
    // The status filter as twill observe's --http-status: 4+ keeps it, 2+ does not.
    await page.getByLabel('HTTP status').fill('4+');
    await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(1);
    await page.screenshot({ path: join(ARTIFACTS, 'pods-flows-l7-denied.png') });
    await page.getByLabel('HTTP status').fill('2+');
    await expect.poll(() => rows.count()).toBe(0);

    // The policy view: can frontend reach api on 8080? The answer names l7-api-policy.
    await page.getByRole('tab', { name: 'Policy' }).click();
    const form = page.getByRole('form', { name: 'Explain a connection' });
    await form.getByLabel('From pod').selectOption('default/frontend');
    await form.getByLabel('To pod').selectOption('default/api');
    await form.getByLabel('Port').fill('8080');
    await form.getByLabel('Port').press('Enter');
    const verdict = page.getByRole('region', { name: 'Verdict' });
    await verdict.waitFor({ timeout: 10_000 });
    expect(await verdict.getAttribute('data-verdict')).toBe('allow');
    expect(await verdict.textContent()).toContain('Decided by: ingress: CiliumNetworkPolicy default/l7-api-policy spec.ingress[0]');
    await page.screenshot({ path: join(ARTIFACTS, 'pods-policy.png'), fullPage: true });
    expect(agent.child.exitCode, agent.output).toBeNull();
  });
});
