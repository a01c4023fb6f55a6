// Writes deploy/ at the repository root from the manifests the agent renders
// (src/agent/manifests): deploy/twill.yaml, deploy/crds/calico.yaml, deploy/crds/cilium.yaml.
// A test (test/manifests/deploy.test.ts) fails when deploy/ differs. Run from the root:
//   npx tsx --conditions=@twill/source apps/agent/scripts/manifests.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { deployFiles } from '../src/agent/manifests/index.js';

const deploy = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'deploy');
for (const [path, text] of Object.entries(deployFiles())) {
  const file = join(deploy, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  process.stdout.write(`wrote ${relative(process.cwd(), file)}\n`);
}
