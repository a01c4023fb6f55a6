import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

import { workspaceRoot } from '../boundaries.js';

const eslint = new ESLint({ cwd: workspaceRoot });

/** The no-restricted-imports messages ESLint gives `code` placed at `file`. */
async function importErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${workspaceRoot}/${file}` });
  const rules = ['no-restricted-imports', 'twill/no-cross-project-relative-import'];
  return (result?.messages ?? []).filter((m) => rules.includes(m.ruleId ?? '')).map((m) => m.message);
}

describe('module boundaries fail lint', () => {
  it.each([
    ['packages/bgp/src/speaker.ts', "import { x } from '@twill/ipam';", /@twill\/bgp .* must not depend on @twill\/ipam/],
    ['packages/policy-engine/src/model.ts', "import { x } from '@twill/sys';", /must not depend on @twill\/sys/],
    ['packages/sys/src/bpf.ts', "import { x } from '@twill/ebpf';", /must not depend on @twill\/ebpf/],
    ['packages/ipam/src/pool.ts', "import { x } from '@twill/agent';", /must not depend on @twill\/agent/],
    ['packages/ipam/src/pool.ts', "import { x } from '@twill/sys';", /must not depend on @twill\/sys/],
    ['apps/agent/src/main.ts', "import { x } from '@twill/cli';", /must not depend on @twill\/cli/],
    ['packages/cni-core/src/config/parse.ts', "import { x } from '@twill/sys';", /only src\/net\/ of @twill\/cni-core/],
    ['packages/cni-core/src/config/parse.ts', "import { x } from 'netlink';", /only src\/net\/ of @twill\/cni-core/],
    ['apps/agent/src/main.ts', "import { x } from '@twill/sys/src/bpf.js';", /never its files/],
    ['packages/ebpf/src/map.ts', "import { x } from '../../sys/src/bpf.js';", /not by a relative path/],
    ['packages/ebpf/src/internal/map.ts', "export * from '../../../sys/src/bpf.js';", /packages\/sys\/src\/bpf.js is outside packages\/ebpf/],
    ['packages/policy-engine/src/model.ts', "import { readFileSync } from 'node:fs';", /only sys\/ folders/],
    ['packages/bgp/src/fsm.ts', "import { connect } from 'net';", /only sys\/ folders/],
    ['apps/cli/src/main.ts', "import { spawn } from 'node:child_process';", /only sys\/ folders/],
    ['packages/bgp/test/codec.test.ts', "import { x } from '@twill/ipam';", /must not depend on @twill\/ipam/],
    ['packages/ipam/src/plugin/x.ts', "import { x } from '@twill/sys/testing';", /must not depend on @twill\/sys/],
  ])('%s: %s', async (file, code, message) => {
    const errors = await importErrors(file, code);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
  });
});

describe('allowed imports pass lint', () => {
  it.each([
    ['packages/cni-core/src/net/link.ts', "import { x } from '@twill/sys';"],
    ['packages/cni-core/src/net/link.ts', "import { x } from 'netlink';"],
    ['packages/ipam/src/pool.ts', "import { x } from '@twill/cni-core';"],
    ['packages/ebpf/src/map.ts', "import { x } from '@twill/sys';"],
    ['apps/agent/src/main.ts', "import { x } from '@twill/bgp';"],
    ['apps/cli/src/main.ts', "import { x } from '@twill/cni-core/net';"],
    ['packages/bgp/src/sys/transport.ts', "import { connect } from 'node:net';"],
    ['packages/sys/src/netns.ts', "import { readdirSync } from 'node:fs';"],
    ['packages/policy-engine/test/model.test.ts', "import { readFileSync } from 'node:fs';"],
    ['packages/policy-engine/test/model.test.ts', "import { x } from '../src/model.js';"],
    ['packages/ipam/test/plugin/bridge.root.test.ts', "import { NetworkScratch } from '@twill/sys/testing';"],
    ['packages/bgp/test/speaker/bird.root.test.ts', "import { openSocket } from '@twill/sys';"],
  ])('%s: %s', async (file, code) => {
    expect(await importErrors(file, code)).toEqual([]);
  });
});
