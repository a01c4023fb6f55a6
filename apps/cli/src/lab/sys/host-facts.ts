// What the lab's defaults depend on: whether BIRD is installed and where a lab lives
// when no folder is given.

import { accessSync, constants, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { posix } from 'node:path';

import { BIRD_PATH, type LabHostFacts } from '../spec.js';

/** `/run/twill-lab` when /run is writable (root), else `<tmpdir>/twill-lab`. */
export function defaultLabDir(): string {
  try {
    accessSync('/run', constants.W_OK);
    return '/run/twill-lab';
  } catch {
    return posix.join(tmpdir(), 'twill-lab');
  }
}

/** This machine's facts for `labSpecFromOptions`. */
export function labHostFacts(cwd: string = process.cwd()): LabHostFacts {
  return { birdInstalled: existsSync(BIRD_PATH), defaultDir: defaultLabDir(), cwd };
}
