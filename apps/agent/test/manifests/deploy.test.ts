// deploy/ at the repository root is what the code renders: a change to the manifests'
// code without regenerating deploy/ fails here, saying how to regenerate it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { deployFiles } from '../../src/agent/manifests/index.js';

const DEPLOY = join(import.meta.dirname, '..', '..', '..', '..', 'deploy');
const FIX = 'run `npx tsx --conditions=@twill/source apps/agent/scripts/manifests.ts` from the repository root and commit deploy/';

describe('deploy/', () => {
  it.each(Object.entries(deployFiles()))('%s is what the manifests render', (path, text) => {
    let written: string;
    try {
      written = readFileSync(join(DEPLOY, path), 'utf8');
    } catch {
      throw new Error(`deploy/${path} is missing: ${FIX}`);
    }
    expect(written === text, `deploy/${path} is not what the code renders: ${FIX}`).toBe(true);
  });

  it('says how to install in its README', () => {
    const readme = readFileSync(join(DEPLOY, 'README.md'), 'utf8');
    expect(readme).toContain('kubectl apply -f deploy/twill.yaml');
    expect(readme).toContain('deploy/crds/calico.yaml');
    expect(readme).toContain('deploy/crds/cilium.yaml');
  });
});
