// `twill completion`: the bash script is run by a real bash, completing command lines
// the way readline would ask it to; the zsh script is checked for what it offers.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { twill } from './helpers.js';

describe('twill completion bash', () => {
  let dir = '';
  let script = '';
  beforeAll(async () => {
    const run = await twill(['completion', 'bash']);
    expect(run.code).toBe(0);
    dir = mkdtempSync(join(tmpdir(), 'twt-completion-'));
    script = join(dir, 'twill.bash');
    writeFileSync(script, run.stdout);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // What bash offers for `line` (the cursor at its end).
  const complete = (line: string): string[] => {
    const words = line.split(' ');
    const program = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _twill; printf '%s\\n' "\${COMPREPLY[@]}"`;
    return execFileSync('bash', ['--norc', '-c', program, 'bash', script, ...words], { encoding: 'utf8', cwd: dir })
      .split('\n').filter((w) => w !== '').sort();
  };

  it('completes commands at each level', () => {
    expect(complete('twill ')).toEqual(['apply', 'bgp', 'cni', 'completion', 'delete', 'describe', 'get', 'ipam', 'lab', 'observe', 'policy', 'status', 'ui']);
    expect(complete('twill pol')).toEqual(['policy']);
    expect(complete('twill policy ')).toEqual(['explain', 'lint', 'simulate']);
    expect(complete('twill cni ')).toEqual(['add', 'check', 'del', 'gc', 'status']);
    expect(complete('twill --debug policy s')).toEqual(['simulate']);
  });

  it('completes options, and the choices of options that have them', () => {
    expect(complete('twill policy simulate --cl')).toEqual(['--cluster']);
    expect(complete('twill policy simulate --p')).toEqual(['--policies', '--port', '--ports', '--protocol', '--protocols']);
    expect(complete('twill policy simulate --cluster c.yaml -o ')).toEqual(['json', 'table', 'wide', 'yaml']);
    expect(complete('twill policy simulate --protocol S')).toEqual(['SCTP']);
    expect(complete('twill cni add --')).toEqual(['--cache-dir', '--container-id', '--help', '--ifname', '--output']);
    expect(complete('twill completion ')).toEqual(['bash', 'zsh']);
    expect(complete('twill observe --verdict D')).toEqual(['DROPPED']);
    expect(complete('twill observe -o ')).toEqual(['compact', 'json', 'table']);
  });

  it('completes file names where a file goes', () => {
    writeFileSync(join(dir, 'cluster.yaml'), '');
    expect(complete('twill policy simulate --cluster clu')).toEqual(['cluster.yaml']);
    expect(complete('twill policy lint clu')).toEqual(['cluster.yaml']);
  });
});

describe('twill completion zsh', () => {
  it('is a #compdef function offering the commands and options with their descriptions', async () => {
    const run = await twill(['completion', 'zsh']);
    expect(run.code).toBe(0);
    expect(run.stdout.startsWith('#compdef twill\n')).toBe(true);
    expect(run.stdout).toContain(`'commands|policy') print -rl -- 'simulate:the verdict of probes`);
    expect(run.stdout).toContain(`'lint:validate policy documents`);
    expect(run.stdout).toContain(`'choices|policy simulate|--output') echo 'table wide json yaml' ;;`);
    expect(run.stdout).toContain(`'--ifname:the interface in the namespace (default: CNI_IFNAME, or eth0)'`);
  });
});
