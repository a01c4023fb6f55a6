// The dashboard under load (issue 15 "Measured"): with 1,000 endpoints and 10,000 flows
// per minute the page stays responsive. A real agent in this process (the dashboard
// test's fixture: memory datastore, the real policy controller, flow observer, ring and
// dashboard server) holds 1,000 pods in 20 namespaces; verdicts for random pod pairs
// (one in ten denied by a policy) are reported through the observer at 10,000 a minute,
// every 100 ms; Debian's chromium (playwright-core, headless) shows the service map,
// then the flows view, while the page records every frame's time (requestAnimationFrame
// deltas) and long tasks (PerformanceObserver 'longtask', > 50 ms). Figures: median,
// p95 and p99 frame time, frames over 50 ms, long tasks and their total, per view.
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium, type Page } from 'playwright-core';

import { type FixturePod, startFixtureAgent, verdictEvent } from '../apps/agent/test/ui/fixture-agent.js';
import { MAX_DRAWN_EDGES, RENDER_MS, ROWS } from '../packages/ui/src/app/limits.js';
import { median, percentile } from './lib/compare.js';
import { writeSection } from './lib/report.js';

const PODS = 1000;
const NAMESPACES = 20;
const APPS = 50;
const FLOWS_PER_MINUTE = 10_000;
const TICK_MS = 100;
/** Seconds each view is measured. */
const SECONDS = Number(process.env['UI_BENCH_SECONDS'] ?? 30);

interface FrameFigures {
  readonly frames: number;
  readonly median: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly over50: number;
  readonly longTasks: number;
  readonly longTaskMs: number;
  readonly flowsReceived: number;
}

const load = (): string => loadavg().map((l) => l.toFixed(1)).join(', ');

/** Runs the benchmark and writes its section. */
export async function run(command: string): Promise<void> {
  const pods: FixturePod[] = Array.from({ length: PODS }, (_, i) => {
    const namespace = `ns-${String(i % NAMESPACES).padStart(2, '0')}`;
    const app = `app-${(i * 7) % APPS}`;
    return { namespace, name: `${app}-${i}`, labels: { app }, ip: `10.${Math.floor(i / 250)}.${i % 250}.${10 + (i % 7)}` };
  });
  // Namespace ns-00 takes nothing from ns-01: the denied flows.
  const resources = [
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'not-from-ns-01', namespace: 'ns-00' },
      spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['ns-01'] }] } }] }] },
    },
  ];
  const fixture = await startFixtureAgent({ pods, resources, flowsCapacity: 65536 });
  const profile = await mkdtemp(join(tmpdir(), 'twill-ui-bench-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1600, height: 1000 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  let seed = 1;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const perTick = (FLOWS_PER_MINUTE / 60) * (TICK_MS / 1000);
  let owed = 0;
  let sent = 0;
  const feeder = setInterval(() => {
    owed += perTick;
    const batch = [];
    for (; owed >= 1; owed -= 1) {
      const denied = random() < 0.1;
      const from = denied ? pods[1 + NAMESPACES * Math.floor(random() * (PODS / NAMESPACES - 1))]! : pods[Math.floor(random() * PODS)]!;
      const to = denied ? pods[NAMESPACES * Math.floor(random() * (PODS / NAMESPACES))]! : pods[Math.floor(random() * PODS)]!;
      batch.push(verdictEvent(from, to, 8080, denied ? 'deny' : 'allow', Date.now()));
    }
    sent += batch.length;
    fixture.events(batch);
  }, TICK_MS);
  const results: { view: string; figures: FrameFigures }[] = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(fixture.url);
    await page.getByRole('img', { name: `Service map of ${PODS} pods` }).waitFor({ timeout: 60_000 });
    for (const view of ['Service map', 'Flows']) {
      await page.getByRole('tab', { name: view }).click();
      // A string, not a function: tsx's name helpers would not exist in the page.
      await page.evaluate(`(() => {
        window.__frames = [];
        window.__long = [];
        window.__stop = false;
        let last = performance.now();
        const tick = (now) => {
          window.__frames.push(now - last);
          last = now;
          if (!window.__stop) requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
        new PerformanceObserver((list) => {
          for (const entry of list.getEntries()) window.__long.push(entry.duration);
        }).observe({ type: 'longtask' });
      })()`);
      const before = await received(page);
      await page.waitForTimeout(SECONDS * 1000);
      const { frames, long } = (await page.evaluate('(() => { window.__stop = true; return { frames: window.__frames.slice(1), long: window.__long }; })()')) as { frames: number[]; long: number[] };
      const sorted = [...frames].sort((a, b) => a - b);
      results.push({
        view,
        figures: {
          frames: frames.length,
          median: median(sorted),
          p95: percentile(sorted, 95),
          p99: percentile(sorted, 99),
          max: sorted.at(-1) ?? 0,
          over50: frames.filter((f) => f > 50).length,
          longTasks: long.length,
          longTaskMs: long.reduce((a, b) => a + b, 0),
          flowsReceived: (await received(page)) - before,
        },
      });
      process.stdout.write(`${view}: ${JSON.stringify(results.at(-1)!.figures)}\n`);
    }
    await page.screenshot({ path: join(tmpdir(), 'twill-ui-bench.png') });
  } finally {
    clearInterval(feeder);
    await context.close();
    await fixture.stop();
    await rm(profile, { recursive: true, force: true });
  }
  const ms = (v: number): string => v.toFixed(1);
  const rows = results.map(({ view, figures: f }) => `| ${view} | ${f.frames} | ${ms(f.median)} | ${ms(f.p95)} | ${ms(f.p99)} | ${ms(f.max)} | ${f.over50} | ${f.longTasks} (${Math.round(f.longTaskMs)} ms) | ${f.flowsReceived} (${Math.round((f.flowsReceived / SECONDS) * 60)}/min) |`);
  writeSection({
    id: 'ui',
    title: `Dashboard: frame times with ${PODS.toLocaleString('en')} endpoints and ${FLOWS_PER_MINUTE.toLocaleString('en')} flows per minute`,
    command,
    body: `
A twill-agent in the bench's process (the dashboard test's fixture: memory datastore, the real policy controller, flow
observer, flow ring and dashboard server) with ${PODS} pods in ${NAMESPACES} namespaces (${APPS} apps); verdicts of random pod pairs,
one in ten denied by a NetworkPolicy, reported through the observer at ${FLOWS_PER_MINUTE.toLocaleString('en')} a minute (every ${TICK_MS} ms;
${sent} in all), streamed to the page over Server-Sent Events. Debian's chromium, headless (playwright-core), 1600×1000; the
page records each frame's time (requestAnimationFrame deltas) and long tasks (PerformanceObserver \`longtask\`, over 50 ms)
for ${SECONDS} s per view: the service map (${PODS.toLocaleString('en')} pods, an edge per observed pair, red or green, at most ${MAX_DRAWN_EDGES} drawn) and the flows
table (newest ${ROWS} rows, following live); the page draws at most every ${RENDER_MS} ms. Frame times in milliseconds; 16.7 is 60 frames a
second. The machine's load average at the end of the run: ${load()} (${availableParallelism()} CPUs shared with other work): the figures include that contention.

| view | frames | median | p95 | p99 | max | frames over 50 ms | long tasks (total) | flows received |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}
`,
  });
}

async function received(page: Page): Promise<number> {
  const text = (await page.getByRole('status').first().textContent()) ?? '';
  return Number(/(\d+) flows received/u.exec(text)?.[1] ?? 0);
}
