/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The dashboard end to end in a real browser: Debian's chromium driven by
// playwright-core (no browser download), against an agent with fixture data whose
// dataplane reports verdicts through the real observer, ring and stream. What a user
// sees: the page opens from the URL with the token, which the API and stream need;
// the map shows the pods; a denied probe turns its edge red within 2 s; the
// policy view answers as `twill policy explain` does; the views are reachable by
// keyboard; every control has an accessible name. Screenshots go to test-results/ui/.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type FixtureAgent, type FixturePod, startFixtureAgent, verdictEvent } from './fixture-agent.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = resolve(import.meta.dirname, '../../test-results/ui');
const CLI_MAIN = "const { main } = await import('@twill/cli'); process.exitCode = await main(process.argv.slice(1));";

const client: FixturePod = { namespace: 'shop', name: 'frontend-0', labels: { app: 'frontend' }, ip: '10.0.0.5' };
const server: FixturePod = { namespace: 'db', name: 'postgres-0', labels: { app: 'postgres' }, ip: '10.0.0.6' };
const other: FixturePod = { namespace: 'shop', name: 'api-0', labels: { app: 'api' }, ip: '10.0.0.7' };

// db's pods take connections from shop/api on 5432 only: the frontend is denied.
const policies = [
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'postgres-from-api', namespace: 'db' },
    spec: {
      podSelector: { matchLabels: { app: 'postgres' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } }, podSelector: { matchLabels: { app: 'api' } } }], ports: [{ port: 5432, protocol: 'TCP' }] }],
    },
  },
];

describe.skipIf(!existsSync(CHROMIUM))('the dashboard in chromium', () => {
  let fixture: FixtureAgent;
  let browser: BrowserContext;
  let page: Page;
  let profile: string;

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    profile = await mkdtemp(join(tmpdir(), 'twt-ui-chromium-'));
    fixture = await startFixtureAgent({ pods: [client, server, other], resources: policies });
    // The issue's flags; playwright adds its own automation flags, takes the fresh profile
    // folder as the persistent context's (it refuses --user-data-dir in args) and headless as an option.
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 800 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    // Nothing may come from elsewhere than the agent.
    await page.route('**/*', (route) => (route.request().url().startsWith(`${fixture.origin}/`) ? route.continue() : route.abort()));
    await page.goto(fixture.url);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await fixture?.stop();
    if (profile !== undefined) await rm(profile, { recursive: true, force: true });
  });

  it("opens from the URL twill ui prints, whose token leaves the address bar; the API refuses a request without it", async () => {
    expect(fixture.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]{43}$/u);
    await expect.poll(() => page.url()).toBe(`${fixture.origin}/`);
    const bare = await page.evaluate(async () => {
      const response = await fetch('api/ui/endpoints');
      return { status: response.status, body: await response.text() };
    });
    expect(bare.status).toBe(401);
    expect(JSON.parse(bare.body).error.message).toContain('open the dashboard at the address `twill ui` prints');
    // The stream too, unless its URL has the token; with it, it streams.
    const events = await Promise.all(['', fixture.token].map(async (token) => (await fetch(`${fixture.origin}/api/ui/events${token === '' ? '' : `?token=${token}`}`, { signal: AbortSignal.timeout(5000) }).then(async (r) => {
      const status = r.status;
      await r.body?.cancel();
      return status;
    }))));
    expect(events).toEqual([401, 200]);
    // The tab keeps the token: a reload still reads the API (the map's pods, next).
    await page.reload();
  });

  it('shows the pods on the service map, grouped by namespace and app', async () => {
    await expect.poll(() => page.getByRole('img', { name: 'Service map of 3 pods' }).count(), { timeout: 10_000 }).toBe(1);
    for (const pod of [client, server, other]) expect(await page.locator(`circle[data-pod="${pod.namespace}/${pod.name}"]`).count()).toBe(1);
    const texts = await page.locator('svg text').allTextContents();
    expect(texts).toEqual(expect.arrayContaining(['db', 'shop', 'frontend (1)', 'api (1)', 'postgres (1)']));
    await page.screenshot({ path: join(ARTIFACTS, 'map.png') });
  });

  it('draws a denied probe as a red edge within 2 s', async () => {
    fixture.events([verdictEvent(client, server, 5432, 'deny')]);
    const edge = page.locator(`line.edge-denied[data-from="shop/frontend-0"][data-to="db/postgres-0"]`);
    await edge.waitFor({ state: 'attached', timeout: 2000 });
    expect(await edge.evaluate((el) => getComputedStyle(el).stroke)).toBe('rgb(209, 44, 44)');
    // An allowed connection is green.
    fixture.events([verdictEvent(other, server, 5432, 'allow')]);
    await page.locator(`line.edge-allowed[data-from="shop/api-0"][data-to="db/postgres-0"]`).waitFor({ state: 'attached', timeout: 2000 });
    await page.screenshot({ path: join(ARTIFACTS, 'map-denied-edge.png') });
  });

  it('reaches the views by keyboard, lists the flows with twill observe\'s filters', async () => {
    await page.locator('body').focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('role') + ':' + document.activeElement?.textContent)).toBe('tab:Service map');
    await page.keyboard.press('ArrowRight');
    expect(await page.getByRole('tab', { name: 'Flows' }).getAttribute('aria-selected')).toBe('true');
    await page.getByRole('table', { name: 'Flows, newest first' }).waitFor();
    await page.getByLabel('Verdict').selectOption('DROPPED');
    const rows = page.getByRole('table', { name: 'Flows, newest first' }).locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('shop/frontend-0');
    expect(await rows.first().textContent()).toContain('DROPPED');
    await page.getByLabel('Verdict').selectOption('');
    await page.getByLabel('To pod').fill('db/post');
    await expect.poll(() => rows.count()).toBe(2);
    await page.screenshot({ path: join(ARTIFACTS, 'flows.png') });
    // Alt+3 opens the policy view from anywhere.
    await page.keyboard.press('Alt+3');
    expect(await page.getByRole('tab', { name: 'Policy' }).getAttribute('aria-selected')).toBe('true');
  });

  it("answers 'can A reach B' as twill policy explain does", async () => {
    await page.getByRole('tab', { name: 'Policy' }).click();
    const form = page.getByRole('form', { name: 'Explain a connection' });
    await form.getByLabel('From pod').selectOption('shop/frontend-0');
    await form.getByLabel('To pod').selectOption('db/postgres-0');
    await form.getByLabel('Port').fill('5432');
    await form.getByLabel('Port').press('Enter');
    const verdict = page.getByRole('region', { name: 'Verdict' });
    await verdict.waitFor({ timeout: 10_000 });
    // The CLI runs while the page answers (each start of it costs seconds on a loaded machine).
    const [cli, cliAllowed] = await Promise.all([explainWithCli(fixture, 'shop/frontend-0', 'db/postgres-0', 5432), explainWithCli(fixture, 'shop/api-0', 'db/postgres-0', 5432)]);
    expect(await verdict.getAttribute('data-verdict')).toBe(cli.verdict);
    expect(cli.verdict).toBe('deny');
    expect(await verdict.textContent()).toContain(`Decided by: ${cli.decidedBy.direction}: isolated by NetworkPolicy db/postgres-from-api`);
    expect(await verdict.textContent()).toContain(`Why: ${cli.explanation}`);
    // The document the page read is the CLI's JSON, field for field.
    const answer = await page.evaluate(async (token) => (await fetch('api/ui/explain?from=shop/frontend-0&to=db/postgres-0&port=5432&protocol=TCP', { headers: { authorization: `Bearer ${token}` } })).json(), fixture.token);
    expect(answer).toEqual(cli);
    // And an allowed one, decided by a rule.
    const allowed = await page.evaluate(async (token) => (await fetch('api/ui/explain?from=shop/api-0&to=db/postgres-0&port=5432&protocol=TCP', { headers: { authorization: `Bearer ${token}` } })).json(), fixture.token);
    expect(allowed).toEqual(cliAllowed);
    expect(cliAllowed).toMatchObject({ verdict: 'allow', decidedBy: { reason: 'rule', rule: 'spec.ingress[0] (from[0], ports[0])' } });

    await page.getByLabel('Pod', { exact: true }).selectOption('db/postgres-0');
    await page.getByRole('table', { name: 'Ingress rules of tier default' }).waitFor({ timeout: 10_000 });
    const body = await page.locator('section[aria-label="Policy"]').textContent();
    expect(body).toContain('Selected by: NetworkPolicy db/postgres-from-api (networkpolicies.networking.k8s.io/db/postgres-from-api@');
    expect(body).toContain('spec.ingress[0]');
    await page.screenshot({ path: join(ARTIFACTS, 'policy.png'), fullPage: true });
  }, 60_000);

  it('gives every control of every view an accessible name', async () => {
    for (const name of ['Service map', 'Flows', 'Policy', 'BGP', 'IPAM']) {
      await page.getByRole('tab', { name }).click();
      await page.waitForTimeout(0);
      const unnamed = await page.evaluate(() =>
        [...document.querySelectorAll('button, input, select, textarea, [role="tab"], a[href]')]
          .filter((el) => {
            const labelled = (el as HTMLInputElement).labels !== undefined && [...((el as HTMLInputElement).labels ?? [])].some((l) => (l.textContent ?? '').trim() !== '');
            const aria = (el.getAttribute('aria-label') ?? '').trim() !== '' || el.getAttribute('aria-labelledby') !== null;
            const text = (el.tagName === 'BUTTON' || el.tagName === 'A' || el.getAttribute('role') === 'tab') && (el.textContent ?? '').trim() !== '';
            return !(labelled || aria || text);
          })
          .map((el) => el.outerHTML.slice(0, 120)),
      );
      expect(unnamed, name).toEqual([]);
      await page.screenshot({ path: join(ARTIFACTS, `view-${name.toLowerCase().replace(' ', '-')}.png`) });
    }
    // BGP does not run on this node: the view says why, in words.
    await page.getByRole('tab', { name: 'BGP' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('BGP is not running on this node');
  });

  it('follows the newest 100 flows, building only the rows in view; scrolling shows the oldest of them', async () => {
    const now = Date.now();
    fixture.events(Array.from({ length: 150 }, (_, i) => verdictEvent(other, server, 5432, 'allow', now + i)));
    await page.getByRole('tab', { name: 'Flows' }).click();
    const table = page.getByRole('table', { name: 'Flows, newest first' });
    await expect.poll(() => page.locator('section[aria-label="Flows"] p[role="status"]').textContent(), { timeout: 5000 }).toMatch(/^100 shown of \d+ kept, following live$/u);
    expect(await table.getAttribute('aria-rowcount')).toBe('101');
    const built = table.locator('tbody tr');
    const count = await built.count();
    expect(count).toBeGreaterThan(5);
    expect(count).toBeLessThan(100);
    // The newest first.
    expect(await built.first().getAttribute('aria-rowindex')).toBe('2');
    await page.locator('.flow-rows').evaluate((box) => box.scrollTo({ top: box.scrollHeight }));
    await expect.poll(() => built.last().getAttribute('aria-rowindex')).toBe('101');
    await page.screenshot({ path: join(ARTIFACTS, 'flows-scrolled.png') });
  });

  it('is read-only: a write through the dashboard is refused', async () => {
    const status = await page.evaluate(async (token) => (await fetch('api/v1/ipam/release', { method: 'POST', body: '{"ip":"10.0.0.5"}', headers: { authorization: `Bearer ${token}` } })).status, fixture.token);
    expect(status).toBe(405);
  });

  it('passes through only the API paths the page reads: stored resources (a BGPPeer may hold a password) stay on the API socket', async () => {
    const answer = await page.evaluate(async (token) => {
      const response = await fetch('api/v1/resources/bgppeers.projectcalico.org', { headers: { authorization: `Bearer ${token}` } });
      return { status: response.status, text: await response.text() };
    }, fixture.token);
    expect(answer.status).toBe(404);
    expect(answer.text).toContain('/v1/resources/bgppeers.projectcalico.org is not served by the dashboard');
    expect(await page.evaluate(async (token) => (await fetch('api/v1/ipam?blocks=true', { headers: { authorization: `Bearer ${token}` } })).status, fixture.token)).toBe(200);
  });
});

/** `twill policy explain -o json` (the CLI from its sources) against the fixture agent's API socket. */
async function explainWithCli(fixture: FixtureAgent, from: string, to: string, port: number): Promise<{ verdict: string; explanation: string; decidedBy: { direction: string } }> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    // From the CLI's sources (its bin runs dist/, which may be older than them).
    ['--conditions=@twill/source', '--import', 'tsx', '--input-type=module', '-e', CLI_MAIN, 'policy', 'explain', '--agent-socket', fixture.config.api.socket, '--from', from, '--to', to, '--port', String(port), '-o', 'json'],
    { cwd: resolve(import.meta.dirname, '../../../cli'), env: { ...process.env, NODE_OPTIONS: '', NO_COLOR: '1' } },
  );
  return JSON.parse(stdout) as { verdict: string; explanation: string; decidedBy: { direction: string } };
}
