// The report as Markdown and as one line, as a reader of CONFORMANCE.md sees it.
import { describe, expect, it } from 'vitest';

import { formatConformanceMarkdown, summarizeConformance } from '../../src/conformance/format.js';
import { nsenterCommand } from '../../src/conformance/sys/nsenter-exec.js';
import { type ConformanceReport } from '../../src/conformance/types.js';

const report: ConformanceReport = {
  network: 'dbnet',
  plugins: ['bridge', 'host-local'],
  claimedVersions: { bridge: ['0.4.0', '1.0.0'] },
  version: '1.0.0',
  checks: [
    { id: 'version', title: 'VERSION prints valid JSON', plugin: 'bridge', status: 'passed', reason: 'supports 0.4.0, 1.0.0' },
    { id: 'config.invalid-json', title: 'not JSON gives 6', plugin: 'bridge', status: 'failed', reason: 'stdout is not only a JSON document: "a | b\nc"' },
    { id: 'gc', title: 'GC keeps the valid attachments (1.1.0)', status: 'not-applicable', reason: 'GC is new in 1.1.0' },
  ],
  summary: { passed: 1, failed: 1, notApplicable: 1 },
  notes: ['cleanup DEL of x failed'],
};

describe('summarizeConformance', () => {
  it('gives the plugins, network, version and counts on one line', () => {
    expect(summarizeConformance(report)).toBe('bridge+host-local (network dbnet, CNI 1.0.0): 1 passed, 1 failed, 1 not applicable');
  });
});

describe('formatConformanceMarkdown', () => {
  it('writes a heading, the claims, one table row per check with pipes escaped, and the notes', () => {
    expect(formatConformanceMarkdown(report, { title: 'Reference bridge', level: 3 })).toBe(
      [
        '### Reference bridge',
        '',
        'bridge+host-local (network dbnet, CNI 1.0.0): 1 passed, 1 failed, 1 not applicable',
        '',
        '- `bridge` claims 0.4.0, 1.0.0',
        '- `host-local` claims nothing (no valid VERSION answer)',
        '',
        '| check | plugin | result | reason |',
        '|---|---|---|---|',
        '| `version` VERSION prints valid JSON | `bridge` | passed | supports 0.4.0, 1.0.0 |',
        '| `config.invalid-json` not JSON gives 6 | `bridge` | **failed** | stdout is not only a JSON document: "a \\| b c" |',
        '| `gc` GC keeps the valid attachments (1.1.0) | network | not applicable | GC is new in 1.1.0 |',
        '',
        'Notes:',
        '',
        '- cleanup DEL of x failed',
        '',
      ].join('\n'),
    );
  });

  it('titles the report after its plugins and network by default', () => {
    expect(formatConformanceMarkdown({ ...report, notes: [] }).split('\n')[0]).toBe('## bridge+host-local (network dbnet)');
  });
});

describe('nsenterCommand', () => {
  it('runs the plugin through nsenter with an argument array, the namespace as one argument', () => {
    expect(nsenterCommand('/run/netns/host 1', '/usr/lib/cni/bridge')).toEqual({
      file: 'nsenter',
      args: ['--net=/run/netns/host 1', '--', '/usr/lib/cni/bridge'],
    });
    expect(nsenterCommand('/run/netns/h', '/p', '/usr/bin/nsenter').file).toBe('/usr/bin/nsenter');
  });
});
