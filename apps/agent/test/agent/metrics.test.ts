import { CniError, type PluginHandlers } from '@twill/cni-core';
import { describe, expect, it } from 'vitest';

import { instrumentPluginHandlers, PrometheusAgentMetrics } from '../../src/agent/metrics.js';

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

// The Prometheus text exposition format 0.0.4, as a scraper reads it: `# TYPE` lines
// and `name{label="value",...} number` samples (label values here have no escapes).
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP')) continue;
    const type = /^# TYPE (\S+) (\S+)$/u.exec(line);
    if (type !== null) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/u.exec(line);
    if (sample === null) throw new Error(`not an exposition line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const pair of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/gu)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: sample[1]!, labels, value: Number(sample[3]) });
  }
  return { types, samples };
}

function value(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length)?.value;
}

describe('PrometheusAgentMetrics', () => {
  it('adds up flows and L7 requests between scrapes, each scrape showing the totals so far; a count a counter cannot take throws at the call and spoils no scrape', async () => {
    const metrics = new PrometheusAgentMetrics({ processMetrics: false });
    metrics.addFlows('FORWARDED', 2);
    metrics.addFlows('DROPPED', 1);
    metrics.addFlows('FORWARDED', 3);
    metrics.addL7Requests('forwarded', 4);
    let { samples } = parseExposition(await metrics.exposition());
    expect(value(samples, 'twill_flows_total', { verdict: 'FORWARDED' })).toBe(5);
    expect(value(samples, 'twill_flows_total', { verdict: 'DROPPED' })).toBe(1);
    expect(value(samples, 'twill_l7_requests_total', { verdict: 'forwarded' })).toBe(4);

    expect(() => metrics.addFlows('FORWARDED', -1)).toThrow(TypeError);
    expect(() => metrics.addL7Requests('denied', Number.NaN)).toThrow(TypeError);
    metrics.addL7Requests('forwarded', 1);
    ({ samples } = parseExposition(await metrics.exposition()));
    // Counted once, not again at the second scrape.
    expect(value(samples, 'twill_flows_total', { verdict: 'FORWARDED' })).toBe(5);
    expect(value(samples, 'twill_l7_requests_total', { verdict: 'forwarded' })).toBe(5);
    expect(value(samples, 'twill_l7_requests_total', { verdict: 'denied' })).toBeUndefined();
  });

  it('exposes endpoints, CNI latency, policy programming latency and BGP peer states as a scraper reads them', async () => {
    const metrics = new PrometheusAgentMetrics();
    metrics.setEndpoints(3);
    metrics.observeCniRequest('ADD', 'success', 0.02);
    metrics.observeCniRequest('ADD', 'success', 0.2);
    metrics.observeCniRequest('ADD', 'error', 1.5);
    metrics.observeCniRequest('DEL', 'success', 0.004);
    metrics.observePolicyProgramming(0.003);
    metrics.setBgpPeerState('10.0.0.2', 'Established');
    metrics.setBgpPeerState('10.0.0.3', 'Active');

    const { types, samples } = parseExposition(await metrics.exposition());
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/u);
    expect(types.get('twill_endpoints')).toBe('gauge');
    expect(types.get('twill_cni_request_duration_seconds')).toBe('histogram');
    expect(types.get('twill_policy_programming_duration_seconds')).toBe('histogram');
    expect(types.get('twill_bgp_peer_state')).toBe('gauge');
    expect(value(samples, 'twill_endpoints')).toBe(3);

    const cni = (suffix: string, labels: Record<string, string>) => value(samples, `twill_cni_request_duration_seconds_${suffix}`, labels);
    expect(cni('count', { command: 'ADD', outcome: 'success' })).toBe(2);
    expect(cni('count', { command: 'ADD', outcome: 'error' })).toBe(1);
    expect(cni('count', { command: 'DEL', outcome: 'success' })).toBe(1);
    expect(cni('sum', { command: 'ADD', outcome: 'success' })).toBeCloseTo(0.22, 9);
    // Cumulative buckets: 0.02 and 0.2 are both at most 0.25, only 0.02 at most 0.025.
    expect(cni('bucket', { command: 'ADD', outcome: 'success', le: '0.025' })).toBe(1);
    expect(cni('bucket', { command: 'ADD', outcome: 'success', le: '0.25' })).toBe(2);
    expect(cni('bucket', { command: 'ADD', outcome: 'success', le: '+Inf' })).toBe(2);

    expect(value(samples, 'twill_policy_programming_duration_seconds_count')).toBe(1);
    expect(value(samples, 'twill_policy_programming_duration_seconds_bucket', { le: '0.005' })).toBe(1);
    expect(value(samples, 'twill_policy_programming_duration_seconds_bucket', { le: '0.0025' })).toBe(0);

    // One series per FSM state for each peer: 1 for the current one.
    const peer2 = samples.filter((s) => s.name === 'twill_bgp_peer_state' && s.labels['peer'] === '10.0.0.2');
    expect(Object.fromEntries(peer2.map((s) => [s.labels['state'], s.value]))).toEqual({ Idle: 0, Connect: 0, Active: 0, OpenSent: 0, OpenConfirm: 0, Established: 1 });
    expect(value(samples, 'twill_bgp_peer_state', { peer: '10.0.0.3', state: 'Active' })).toBe(1);

    // prom-client's default process metrics, on the agent's own registry.
    expect(types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
  });

  it('moves a peer between states and drops it when removed', async () => {
    const metrics = new PrometheusAgentMetrics({ processMetrics: false });
    metrics.setBgpPeerState('fd00::2', 'Established');
    metrics.setBgpPeerState('fd00::2', 'Idle');
    metrics.setBgpPeerState('10.0.0.9', 'Stopped');
    let { samples } = parseExposition(await metrics.exposition());
    expect(value(samples, 'twill_bgp_peer_state', { peer: 'fd00::2', state: 'Idle' })).toBe(1);
    expect(value(samples, 'twill_bgp_peer_state', { peer: 'fd00::2', state: 'Established' })).toBe(0);
    // A state outside the FSM's has a series while current only.
    expect(value(samples, 'twill_bgp_peer_state', { peer: '10.0.0.9', state: 'Stopped' })).toBe(1);
    metrics.setBgpPeerState('10.0.0.9', 'Connect');
    metrics.setBgpPeerState('fd00::2', undefined);
    ({ samples } = parseExposition(await metrics.exposition()));
    expect(value(samples, 'twill_bgp_peer_state', { peer: '10.0.0.9', state: 'Stopped' })).toBeUndefined();
    expect(value(samples, 'twill_bgp_peer_state', { peer: '10.0.0.9', state: 'Connect' })).toBe(1);
    expect(samples.filter((s) => s.labels['peer'] === 'fd00::2')).toEqual([]);
    expect(samples.some((s) => s.name.startsWith('process_'))).toBe(false);
  });

  it('keeps two agents in one process apart', async () => {
    const a = new PrometheusAgentMetrics({ processMetrics: false });
    const b = new PrometheusAgentMetrics({ processMetrics: false });
    a.setEndpoints(5);
    b.setEndpoints(1);
    expect(value(parseExposition(await a.exposition()).samples, 'twill_endpoints')).toBe(5);
    expect(value(parseExposition(await b.exposition()).samples, 'twill_endpoints')).toBe(1);
  });
});

describe('instrumentPluginHandlers', () => {
  it('observes each call by command and outcome, with the clock it is given, and passes answers and errors through', async () => {
    let now = 1000;
    const calls: string[] = [];
    const handlers: PluginHandlers = {
      add: () => {
        calls.push('add');
        now += 40;
        return { cniVersion: '1.1.0' };
      },
      del: () => {
        now += 5;
        throw new CniError(11, 'try again later');
      },
      check: async () => {
        now += 1;
      },
      status: () => undefined,
      supportedVersions: ['1.1.0'],
    };
    const metrics = new PrometheusAgentMetrics({ processMetrics: false });
    const wrapped = instrumentPluginHandlers(handlers, metrics, () => now);
    const request = {} as never;
    await expect(wrapped.add(request)).resolves.toEqual({ cniVersion: '1.1.0' });
    await expect(wrapped.del(request)).rejects.toThrow('try again later');
    await wrapped.check(request);
    await wrapped.status?.(request);
    expect(wrapped.gc).toBeUndefined();
    expect(wrapped.supportedVersions).toEqual(['1.1.0']);
    expect(calls).toEqual(['add']);

    const { samples } = parseExposition(await metrics.exposition());
    const sum = (labels: Record<string, string>) => value(samples, 'twill_cni_request_duration_seconds_sum', labels);
    expect(sum({ command: 'ADD', outcome: 'success' })).toBeCloseTo(0.04, 9);
    expect(sum({ command: 'DEL', outcome: 'error' })).toBeCloseTo(0.005, 9);
    expect(sum({ command: 'CHECK', outcome: 'success' })).toBeCloseTo(0.001, 9);
    expect(value(samples, 'twill_cni_request_duration_seconds_count', { command: 'STATUS', outcome: 'success' })).toBe(1);
  });
});
