// twill observe against a real @twill/flows observer: serveObserver on a unix socket in
// a temporary folder, fed by a FlowRing holding the fixture flows. Each output format is
// golden; each filter flag shows exactly the flows it should; --follow prints new flows
// until Ctrl-C and exits 0; lost events are said; an observer that is not there is one
// line naming it.

import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FlowRing, serveObserver, type Flow, type ObserverServer } from '@twill/flows';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { twill, type TwillOptions } from '../helpers.js';
import { FLOWS, L7_FLOWS, T0 } from './fixtures.js';

let dir: string;
let server: ObserverServer;
let socket: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'twt-observe-'));
  socket = join(dir, 'observer.sock');
  const ring = new FlowRing({ capacity: 64, nodeName: 'node-1' });
  for (const flow of FLOWS) ring.push(flow);
  server = await serveObserver({ service: ring, socket });
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const observe = (args: readonly string[], options: TwillOptions = {}) => twill(['observe', '--server', `unix://${socket}`, ...args], options);
// The fixture flows a run printed, by the last digit of their uuid, from JSON lines.
const shown = (stdout: string): number[] => stdout.trim().split('\n').filter((l) => l !== '').map((l) => Number((JSON.parse(l) as Flow).uuid.slice(-1)));

describe('twill observe: output', () => {
  it('compact: one line a flow, oldest first', async () => {
    const run = await observe([]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    await expect(run.stdout).toMatchFileSnapshot('golden/compact.txt');
  });

  it('table: aligned columns under a header', async () => {
    const run = await observe(['-o', 'table']);
    expect(run.code).toBe(0);
    await expect(run.stdout).toMatchFileSnapshot('golden/table.txt');
  });

  it('json: one Flow a line, as @twill/flows models it', async () => {
    const run = await observe(['-o', 'json']);
    expect(run.code).toBe(0);
    const flows = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as Flow);
    expect(flows).toEqual(FLOWS);
  });

  it('the server comes from $TWILL_FLOWS_SERVER when --server is not given', async () => {
    const run = await twill(['observe', '-o', 'json', '--last', '1'], { env: { TWILL_FLOWS_SERVER: `unix:${socket}` } });
    expect(run.stderr).toBe('');
    expect(shown(run.stdout)).toEqual([6]);
  });
});

describe('twill observe: which flows', () => {
  const cases: [string, readonly string[], number[]][] = [
    ['--last 2: the newest two', ['--last', '2'], [5, 6]],
    ['--first 2: the oldest two', ['--first', '2'], [1, 2]],
    ['--since an absolute time', ['--since', new Date(T0 + 3000).toISOString()], [4, 5, 6]],
    ['--verdict DROPPED', ['--verdict', 'DROPPED'], [3, 4, 6]],
    ['--verdict twice: either', ['--verdict', 'dropped', '--verdict', 'FORWARDED'], [1, 2, 3, 4, 5, 6]],
    ['--from-pod', ['--from-pod', 'production/frontend'], [1, 5]],
    ['--from-pod NS/: every pod of the namespace', ['--from-pod', 'production/'], [1, 2, 5]],
    ['--from-pod with a name prefix', ['--from-pod', 'production/api'], [2]],
    ['--to-pod', ['--to-pod', 'production/api-server'], [1, 3]],
    ['--pod: either side', ['--pod', 'production/frontend'], [1, 2, 5, 6]],
    ['--pod with --verdict: either side, both narrowed', ['--pod', 'production/frontend', '--verdict', 'DROPPED'], [6]],
    ['--from-ip', ['--from-ip', '10.244.0.5'], [1, 5]],
    ['--from-ip a CIDR', ['--from-ip', '10.244.1.0/24'], [4]],
    ['--to-ip', ['--to-ip', '10.96.0.10'], [5]],
    ['--port: either side', ['--port', '8080'], [1, 2, 3]],
    ['--port with --to-pod', ['--port', '8080', '--to-pod', 'production/api-server'], [1, 3]],
    ['--protocol udp', ['--protocol', 'UDP'], [5]],
    ['--protocol icmp', ['--protocol', 'icmp'], [6]],
    ['--label: either side', ['--label', 'k8s:app=web'], [3]],
    ['--policy by namespace/name', ['--policy', 'production/allow-api'], [1, 3]],
    ['--policy by kind and name', ['--policy', 'GlobalNetworkPolicy//no-dev-to-prod'], [4]],
    ['--node', ['--node', 'node-2'], [1, 2, 3]],
  ];
  for (const [name, args, expected] of cases) {
    it(name, async () => {
      const run = await observe([...args, '-o', 'json']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(shown(run.stdout)).toEqual(expected);
    });
  }

  it('--since a time ago, against the clock', async () => {
    const run = await observe(['--since', '2s', '-o', 'json'], { now: T0 + 5000 });
    expect(shown(run.stdout)).toEqual([4, 5, 6]);
  });
});

describe('twill observe --follow', () => {
  it('prints the newest past flows, then new ones as they come, until Ctrl-C: exit 0', async () => {
    const followDir = await mkdtemp(join(tmpdir(), 'twt-observe-follow-'));
    const ring = new FlowRing({ capacity: 16, nodeName: 'node-1' });
    const followed = await serveObserver({ service: ring, socket: join(followDir, 'observer.sock') });
    try {
      ring.push(FLOWS[0] as Flow);
      const ctrlC = new AbortController();
      let seen = (_: string): void => undefined;
      const running = twill(['observe', '--server', `unix://${join(followDir, 'observer.sock')}`, '-f', '--last', '1'], { interrupt: ctrlC.signal, onStdout: (out) => seen(out) });
      const until = (text: string) => new Promise<void>((resolve) => {
        seen = (out) => {
          if (out.includes(text)) resolve();
        };
      });
      await until('43512');
      ring.push(FLOWS[2] as Flow);
      ring.lost('nflog', 25);
      ring.push(FLOWS[3] as Flow);
      await until('5432');
      ctrlC.abort();
      const run = await running;
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
      expect(run.stdout).toBe([
        '2026-11-28T10:00:00.125Z node-2 production/frontend:43512 -> production/api-server:8080 TCP SYN FORWARDED ingress: NetworkPolicy production/allow-api spec.ingress[0] from[0]',
        '2026-11-28T10:00:02.000Z node-2 default/web:50000 -> production/api-server:8080 TCP SYN DROPPED (POLICY_DENIED) ingress: isolated by NetworkPolicy production/allow-api',
        'EVENTS LOST: node-1: 25 flow events lost (nflog)',
        '2026-11-28T10:00:03.000Z node-1 dev/tool:40001 -> production/database:5432 TCP SYN DROPPED (POLICY_DENY) ingress: GlobalNetworkPolicy no-dev-to-prod spec.ingress[0]',
        '',
      ].join('\n'));
    } finally {
      await followed.close();
      await rm(followDir, { recursive: true, force: true });
    }
  });

  it('says so and exits 1 when the observer shuts down under a follow', async () => {
    const stopDir = await mkdtemp(join(tmpdir(), 'twt-observe-stop-'));
    const ring = new FlowRing({ capacity: 16, nodeName: 'node-1' });
    const stopping = await serveObserver({ service: ring, socket: join(stopDir, 'observer.sock') });
    try {
      ring.push(FLOWS[0] as Flow);
      let printed = (): void => undefined;
      const first = new Promise<void>((resolve) => (printed = resolve));
      const running = twill(['observe', '--server', `unix://${join(stopDir, 'observer.sock')}`, '-f', '--last', '1'], { onStdout: () => printed() });
      await first;
      await stopping.close();
      const run = await running;
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('is shutting down (twill-agent stopped or restarted); the stream ended');
    } finally {
      await stopping.close();
      await rm(stopDir, { recursive: true, force: true });
    }
  });

  it('lost events go to stderr in json mode, stdout keeps only flows', async () => {
    const lostDir = await mkdtemp(join(tmpdir(), 'twt-observe-lost-'));
    const ring = new FlowRing({ capacity: 16, nodeName: 'node-3' });
    const lossy = await serveObserver({ service: ring, socket: join(lostDir, 'observer.sock') });
    try {
      ring.push(FLOWS[0] as Flow);
      ring.lost('ebpf-ringbuf', 1);
      ring.push(FLOWS[1] as Flow);
      const run = await twill(['observe', '--server', `unix://${join(lostDir, 'observer.sock')}`, '-o', 'json']);
      expect(run.code).toBe(0);
      expect(shown(run.stdout)).toEqual([1, 2]);
      expect(run.stderr).toBe('twill: observe: warning: node-3: 1 flow event lost (ebpf-ringbuf)\n');
    } finally {
      await lossy.close();
      await rm(lostDir, { recursive: true, force: true });
    }
  });
});

describe('twill observe --lab', () => {
  it('reads every node\'s observer and merges their flows by time; --last counts over all of them', async () => {
    const labDir = await mkdtemp(join(tmpdir(), 'twt-observe-lab-'));
    const node2Dir = join(labDir, 'nodes', 'node-2');
    await mkdir(node2Dir, { recursive: true });
    const rings = ['node-1', 'node-2'].map((nodeName) => new FlowRing({ capacity: 16, nodeName }));
    for (const flow of FLOWS) rings[flow.nodeName === 'node-1' ? 0 : 1]?.push(flow);
    // node-1 records its socket; node-2's is found beside its configuration (a lab of an older twill).
    const servers = await Promise.all([serveObserver({ service: rings[0] as FlowRing, socket: join(labDir, 'n1.sock') }), serveObserver({ service: rings[1] as FlowRing, socket: join(node2Dir, 'observer.sock') })]);
    try {
      const state = {
        version: 1, id: 'abc123', phase: 'up', spec: {}, createdDir: false, entries: [], netns: [], processes: [],
        lab: { nodes: [{ name: 'node-1', configFile: join(labDir, 'nodes', 'node-1', 'agent.yaml'), observerSocket: join(labDir, 'n1.sock') }, { name: 'node-2', configFile: join(node2Dir, 'agent.yaml') }] },
      };
      const files = { [join(labDir, 'lab.json')]: JSON.stringify(state) };
      const all = await twill(['observe', '--lab', labDir, '-o', 'json'], { files });
      expect(all.stderr).toBe('');
      expect(shown(all.stdout)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(shown((await twill(['observe', '--lab', labDir, '-o', 'json', '--last', '2'], { files })).stdout)).toEqual([5, 6]);
      expect(shown((await twill(['observe', '--lab', labDir, '-o', 'json', '--first', '2'], { files })).stdout)).toEqual([1, 2]);
      // One node's observer gone: the other's flows, its error, exit 1.
      await servers[0]?.close();
      const half = await twill(['observe', '--lab', labDir, '-o', 'json'], { files });
      expect(shown(half.stdout)).toEqual([1, 2, 3]);
      expect(half.stderr).toBe(`twill: observe: no observer at unix://${join(labDir, 'n1.sock')} (is twill-agent running with flows enabled? --server or $TWILL_FLOWS_SERVER names another)\n`);
      expect(half.code).toBe(1);
    } finally {
      await Promise.all(servers.map((s: ObserverServer) => s.close()));
      await rm(labDir, { recursive: true, force: true });
    }
  });

  it('no lab in the folder: exit 1 naming it', async () => {
    expect(await twill(['observe', '--lab', '/nowhere/lab'])).toEqual({ code: 1, stdout: '', stderr: 'twill: observe: --lab: no lab is up in /nowhere/lab (twill lab up starts one)\n' });
  });
});

describe('twill observe: failures', () => {
  it('an observer that is not there: one line naming it, exit 1', async () => {
    const missing = join(dir, 'nothing-here.sock');
    const run = await twill(['observe', '--server', `unix://${missing}`]);
    expect(run).toEqual({ code: 1, stdout: '', stderr: `twill: observe: no observer at unix://${missing} (is twill-agent running with flows enabled? --server or $TWILL_FLOWS_SERVER names another)\n` });
  });
});

describe('twill observe: L7 flows', () => {
  let l7Server: ObserverServer;
  let l7Socket: string;

  beforeAll(async () => {
    l7Socket = join(dir, 'observer-l7.sock');
    const ring = new FlowRing({ capacity: 64, nodeName: 'node-2' });
    for (const flow of [...FLOWS, ...L7_FLOWS]) ring.push(flow);
    l7Server = await serveObserver({ service: ring, socket: l7Socket });
  });

  afterAll(async () => {
    await l7Server?.close();
  });

  const l7 = (args: readonly string[]) => twill(['observe', '--server', `unix://${l7Socket}`, ...args]);
  const uuids = (stdout: string): string[] => stdout.trim().split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as Flow).uuid.slice(-2));

  it('compact: the request, its status and latency; a denial says 403 and the policy whose HTTP rules refused it', async () => {
    const run = await l7(['--protocol', 'http']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe([
      '2026-11-28T10:00:10.000Z node-2 production/frontend:43600 -> production/api-server:8080 GET /api/v1/users?limit=1 -> 200 (1.2 ms) FORWARDED ingress: CiliumNetworkPolicy production/l7-api spec.ingress[0].toPorts[0].rules.http[0]',
      '2026-11-28T10:00:11.000Z node-2 production/frontend:43601 -> production/api-server:8080 DELETE /api/v1/users/7 -> 403 (250 µs) DROPPED (POLICY_DENIED) ingress: no HTTP rule of CiliumNetworkPolicy production/l7-api allows it',
      '2026-11-28T10:00:12.000Z node-2 production/frontend:43602 -> production/api-server:8080 ? ? -> 400 (90 µs) ERROR -',
      '2026-11-28T10:00:13.000Z node-2 production/frontend:43603 -> 203.0.113.80:80 POST /upload -> 502 (12.5 s) FORWARDED -',
      '',
    ].join('\n'));
  });

  it('table: the same in the PROTOCOL column', async () => {
    const run = await l7(['--protocol', 'http', '--http-status', '4+', '-o', 'table']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe([
      'TIME                      NODE    SOURCE                     DESTINATION                 PROTOCOL                                VERDICT                  DECIDED BY',
      '2026-11-28T10:00:11.000Z  node-2  production/frontend:43601  production/api-server:8080  DELETE /api/v1/users/7 -> 403 (250 µs)  DROPPED (POLICY_DENIED)  ingress: no HTTP rule of CiliumNetworkPolicy production/l7-api allows it',
      '2026-11-28T10:00:12.000Z  node-2  production/frontend:43602  production/api-server:8080  ? ? -> 400 (90 µs)                      ERROR                    -',
      '',
    ].join('\n'));
  });

  it('json: the flow with its l7 record', async () => {
    const run = await l7(['--protocol', 'http', '-o', 'json']);
    expect(run.stdout.trim().split('\n').map((line) => JSON.parse(line) as Flow)).toEqual(L7_FLOWS);
  });

  const cases: [string, readonly string[], string[]][] = [
    ['--http-method GET --http-path /api/.* --http-status 403: none (the denied one is a DELETE)', ['--http-method', 'GET', '--http-path', '/api/.*', '--http-status', '403'], []],
    ['--http-method delete --http-status 403', ['--http-method', 'delete', '--http-status', '403'], ['a2']],
    ['--http-status 2+ and 5+', ['--http-status', '2+', '--http-status', '5+'], ['a1', 'a4']],
    ['--http-path anchored', ['--http-path', '^/api/v1/users$'], ['a1']],
    ['--http-path unanchored, over L3/L4 flows too', ['--http-path', 'users'], ['a1', 'a2']],
    ['--http-url', ['--http-url', '^http://api-server\\.production:8080/'], ['a1', 'a2']],
    ['--http-method with --pod: either side', ['--http-method', 'POST', '--pod', 'production/frontend'], ['a4']],
  ];
  for (const [name, args, expected] of cases) {
    it(name, async () => {
      const run = await l7([...args, '-o', 'json']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(uuids(run.stdout)).toEqual(expected);
    });
  }

  it.each([
    [['--http-status', '4xx'], 'twill: observe: --http-status: "4xx" is not an HTTP status code filter (a code from 100 to 599, `404`, or a prefix and `+`: `4+`, `40+`)'],
    [['--http-path', '/api/(v1'], 'twill: observe: --http-path: "/api/(v1" is not a regular expression Twill accepts: missing \')\' at offset 5'],
    [['--http-url', '(?i)x'], 'twill: observe: --http-url: "(?i)x" is not a regular expression Twill accepts: flags, named groups and lookaround are not supported (only `(...)` and `(?:...)`) at offset 0'],
  ])('refuses %j before asking the observer, naming the flag', async (args, message) => {
    const run = await l7(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim()).toBe(message);
  });
});
