// What does starting a CNI plugin cost? The container runtime execs the plugin for
// every pod. A: Node starting (the floor for a plugin written in TypeScript);
// B: a Go reference plugin answering VERSION (Debian's containernetworking-plugins).
// ARCHITECTURE.md weighs a native forwarder to the agent against these figures.
import { existsSync } from 'node:fs';

import { compareAlternately, comparisonTable } from './lib/compare.js';
import { writeSection } from './lib/report.js';

const CNI_BIN = '/usr/lib/cni';

export async function run(command: string): Promise<void> {
  if (!existsSync(`${CNI_BIN}/bridge`)) {
    throw new Error(`${CNI_BIN}/bridge is missing: run scripts/setup.sh as root (containernetworking-plugins)`);
  }
  const comparison = await compareAlternately({
    a: { name: 'A: `node -e 0`', command: [process.execPath, '-e', '0'] },
    b: {
      name: 'B: Go `bridge` plugin, CNI_COMMAND=VERSION',
      command: [`${CNI_BIN}/bridge`],
      env: { CNI_COMMAND: 'VERSION' },
      input: '{"cniVersion":"1.0.0"}',
    },
    runs: 20,
  });
  writeSection({
    id: 'process-start',
    title: 'Process start: Node versus a Go CNI plugin',
    command,
    body: `${comparisonTable([comparison])}

Time from spawn to exit, 20 alternating runs each after 2 warm-up runs. A plugin
written in TypeScript pays Node's start (A) on every exec before doing any work; a Go
reference plugin's whole VERSION call is B.`,
  });
}
