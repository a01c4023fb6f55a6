// What does @twill/cni-core's runtime add to a plugin call? A: CniRuntime.add() of a
// one-plugin network (config building, CNI_PATH search, exec, result decoding and
// validation, the libcni cache write); B: a direct exec of the same plugin with the same
// environment and stdin. The plugin is Debian's Go `static` IPAM plugin: a real ADD that
// changes nothing in the kernel, so the calls can repeat. The target: the
// difference of the medians stays under 2 ms per call.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  CniRuntime,
  buildPluginStdin,
  decodeNetworkConfigList,
  fileResultCache,
  nodePluginExec,
  pluginEnvironment,
} from '@twill/cni-core';

import { compareAlternately, comparisonTable } from './lib/compare.js';
import { writeSection } from './lib/report.js';

const CNI_BIN = '/usr/lib/cni';

export async function run(command: string): Promise<void> {
  if (!existsSync(`${CNI_BIN}/static`)) {
    throw new Error(`${CNI_BIN}/static is missing: run scripts/setup.sh as root (containernetworking-plugins)`);
  }
  const cacheDir = mkdtempSync(join(tmpdir(), 'twill-bench-cache-'));
  try {
    const list = decodeNetworkConfigList(
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'bench',
        plugins: [{ type: 'static', ipam: { type: 'static', addresses: [{ address: '10.250.0.2/24' }] } }],
      }),
    );
    const exec = nodePluginExec();
    const runtime = new CniRuntime({ path: [CNI_BIN], exec, cache: fileResultCache(cacheDir) });
    const rt = { containerId: 'bench-0', netns: '/proc/self/ns/net', ifName: 'eth0' };
    const stdin = buildPluginStdin(list, list.plugins[0]!);
    const env = pluginEnvironment('ADD', [CNI_BIN], rt);
    let n = 0;
    const results: string[] = [];
    for (let round = 0; round < 5; round += 1) {
      const comparison = await compareAlternately({
        a: { name: 'A: `CniRuntime.add`, one `static` plugin', fn: () => runtime.add(list, { ...rt, containerId: `bench-${(n += 1)}` }) },
        b: {
          name: 'B: direct exec of `static`, same env and stdin',
          fn: async () => {
            const r = await exec.exec({ file: `${CNI_BIN}/static`, env, stdin, timeoutMs: 10_000 });
            if (r.exitCode !== 0) throw new Error(`static exited ${r.exitCode}: ${r.stderr}`);
          },
        },
        runs: 30,
        warmup: 3,
      });
      results.push(
        `Round ${round + 1}: difference of medians ${(comparison.a.median - comparison.b.median).toFixed(2)} ms\n\n${comparisonTable([comparison])}`,
      );
    }
    writeSection({
      id: 'cni-invoke',
      title: 'CNI runtime overhead: CniRuntime.add versus a direct exec',
      command,
      body: `${results.join('\n\n')}

Five rounds of 30 alternating calls each (after 3 warm-up calls). A is everything a
runtime does around the exec; B is the exec alone. The target is a difference of the
medians under 2 ms per call.`,
    });
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}
