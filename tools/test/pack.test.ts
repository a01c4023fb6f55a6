// The packages and commands as a user gets them. Every package under packages/, the two
// apps with commands (apps/cli, apps/agent) and the private packages they depend on
// (@twill/ui) are packed once with `npm pack`, and the tarballs installed once, as
// `npm install -g --prefix <tmp>` installs them: every @twill/* package from its tarball
// (the @twill scope's registry has nothing), third-party dependencies from the registry
// through the local npm cache. That one install serves twice: its bin/ holds `twill`,
// `twill-agent` and `twill-cni`, run as a user runs them; and its lib/ is the project,
// outside this repository, where each package README's example is compiled with the
// user's TypeScript and run (lib/node_modules is that project's node_modules, each
// package's own dependencies nested under it).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { workspaceRoot } from '../boundaries.js';
import { installedCopies, run, runInstallScripts, runOk, startEmptyRegistry, workspaceVersion, type RunResult } from '../pack/install.js';
import {
  exportTargets,
  globalApps,
  pack,
  publishedPackages,
  tarballProblems,
  withWorkspaceDependencies,
  type Packed,
  type WorkspacePackage,
} from '../pack/packages.js';
import { readmeExample } from '../pack/readme-example.js';

// Run from `npm test`, this process inherits the outer npm's settings as npm_config_*
// variables (`npm run --silent` sets npm_config_loglevel=silent, which empties what
// `npm publish --dry-run` reports). The npm commands below are a user's own: without them.
for (const key of Object.keys(process.env)) if (/^npm_config_/i.test(key)) delete process.env[key];

const isRoot = process.getuid?.() === 0;
const packages = publishedPackages();
const apps = globalApps();
const [cli, agent] = apps as [WorkspacePackage, WorkspacePackage];
// Everything packed: the packages, the apps, and private packages the apps depend on (@twill/ui).
const everything = withWorkspaceDependencies([...packages, ...apps]);
const short = (pkg: WorkspacePackage): string => pkg.manifest.name.replace('@twill/', '');
const license = readFileSync(join(workspaceRoot, 'LICENSE'), 'utf8');

describe('README examples', () => {
  it('finds the one example and its output, and says what is wrong otherwise', () => {
    const md = 'intro\n```ts example root\nconsole.log(1);\n```\n\nprints:\n\n```text output\n1\n```\n';
    expect(readmeExample(md, 'R.md')).toEqual({ code: 'console.log(1);\n', output: '1\n', root: true, line: 2 });
    expect(() => readmeExample('```ts\nx\n```\n', 'R.md')).toThrow('R.md: expected one ```ts example block, found 0');
    expect(() => readmeExample('```ts example\nx\n```\n', 'R.md')).toThrow('R.md:1: the example has no ```text output block after it');
    expect(() => readmeExample('```ts example\nx\n```\n```ts example\ny\n```\n', 'R.md')).toThrow('found 2 (lines 1, 4)');
    expect(() => readmeExample('```ts example\nx\n', 'R.md')).toThrow('R.md:1: the block is not closed');
  });
});

describe('packed once, installed once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'twill-pack-'));
  const tarballs = join(dir, 'tarballs');
  const prefix = join(dir, 'global');
  const consumer = join(prefix, 'lib');
  const packed = new Map<string, Packed>();
  const published = new Map<string, RunResult>();
  afterAll(() => rm(dir, { recursive: true, force: true }), 120_000);

  beforeAll(async () => {
    // Packing does not build: `npm test` runs this after nx built every project.
    const unbuilt = everything.filter((pkg) => !existsSync(join(pkg.dir, 'dist', 'index.js')));
    if (unbuilt.length > 0) throw new Error(`not built (no dist/index.js): ${unbuilt.map((p) => p.manifest.name).join(', ')}; run npx nx run-many -t build`);
    mkdirSync(tarballs);
    // All at once: each is mostly npm starting. The dry runs publish the tarballs themselves.
    await Promise.all(
      everything.map(async (pkg) => {
        const result = await pack(pkg, tarballs);
        packed.set(pkg.manifest.name, result);
        if (!pkg.manifest.private) published.set(pkg.manifest.name, await run('npm', ['publish', '--dry-run', result.tarball], { cwd: dir }));
      }),
    );
  }, 600_000);

  describe('the tarballs', () => {
    it('publishes the packages under packages/, each public', () => {
      expect(packages.map((p) => p.manifest.name).sort()).toEqual([
        '@twill/bgp',
        '@twill/cni-core',
        '@twill/ebpf',
        '@twill/flows',
        '@twill/ipam',
        '@twill/policy-engine',
        '@twill/sys',
      ]);
      for (const pkg of packages) expect(pkg.manifest.publishConfig?.access, pkg.manifest.name).toBe('public');
    });

    it('depends on its sibling packages at their exact current versions (the changesets group is fixed)', () => {
      const versions = new Map(packages.map((p) => [p.manifest.name, p.manifest.version]));
      for (const pkg of packages) {
        for (const [dep, range] of Object.entries(pkg.manifest.dependencies ?? {})) {
          if (dep.startsWith('@twill/')) expect(range, `${pkg.manifest.name} -> ${dep}`).toBe(versions.get(dep));
        }
      }
      const config = JSON.parse(readFileSync(join(workspaceRoot, '.changeset', 'config.json'), 'utf8')) as { fixed: string[][] };
      expect(config.fixed).toEqual([['@twill/*']]);
    });

    it("is licensed Apache-2.0 by every manifest and every package folder's LICENSE, the root's", () => {
      expect(license).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004\s/);
      for (const pkg of everything) {
        expect(pkg.manifest.license, pkg.manifest.name).toBe('Apache-2.0');
        expect(readFileSync(join(pkg.dir, 'LICENSE'), 'utf8') === license, `${relative(workspaceRoot, pkg.dir)}/LICENSE is the root's`).toBe(true);
      }
    });

    for (const pkg of everything) {
      it(`${pkg.manifest.name}: holds the build, README, LICENSE${pkg.manifest.private ? '' : ', CHANGELOG'} and every export and bin target, and no tests, sources or maps`, () => {
        const files = packed.get(pkg.manifest.name)!.files;
        expect(tarballProblems(pkg, files)).toEqual([]);
        expect(files).toContain('dist/index.d.ts');
        if (pkg.manifest.name === '@twill/sys') {
          expect(files).toContain('binding.gyp');
          expect(files.filter((f) => f.startsWith('native/')).length).toBeGreaterThan(0);
          expect(pkg.manifest.scripts?.install).toBe('node-gyp rebuild');
        }
      });
    }

    it("@twill/agent: holds the eBPF policy program its ebpf dataplane loads (build/bpf, next to dist/)", () => {
      expect(packed.get(agent.manifest.name)!.files).toContain('build/bpf/policy.bpf.o');
    });

    for (const pkg of packages) {
      it(`${pkg.manifest.name}: npm publish --dry-run of the tarball warns of nothing but the missing login, public`, () => {
        const result = published.get(pkg.manifest.name)!;
        expect(result.status, result.stderr).toBe(0);
        const warnings = result.stderr
          .split('\n')
          .filter((line) => /^npm (warn|error)/i.test(line))
          .filter((line) => !/requires you to be logged in/.test(line));
        expect(warnings).toEqual([]);
        expect(result.stderr).toContain(`${pkg.manifest.name}@${pkg.manifest.version}`);
        expect(result.stderr).toContain('with tag latest and public access (dry-run)');
      });
    }
  });

  describe('installed globally from the tarballs, all in one install', () => {
    const registry: string[] = [];
    const examples = new Map<string, RunResult>();
    const commands = new Map<string, RunResult>();
    let compiled: RunResult | undefined;

    beforeAll(async () => {
      const empty = await startEmptyRegistry();
      try {
        // Install scripts run afterwards (runInstallScripts), as a user's install runs them.
        await runOk(
          'npm',
          [
            'install',
            '--global',
            '--prefix',
            prefix,
            `--@twill:registry=${empty.url}`,
            '--prefer-offline',
            '--ignore-scripts',
            '--no-audit',
            '--no-fund',
            '--loglevel=error',
            ...[...packed.values()].map((p) => p.tarball),
            `typescript@${workspaceVersion('typescript')}`,
            `@types/node@${workspaceVersion('@types/node')}`,
            // @twill/sys's README example lists a namespace's links with netlink, which the README
            // tells the reader to install: a global install keeps each package's own dependencies
            // to itself, so the example finds netlink only as a package of its own.
            `netlink@${workspaceVersion('netlink')}`,
          ],
          dir,
        );
      } finally {
        registry.push(...empty.requests);
        await empty.close();
      }
      writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'twill-consumer', private: true, type: 'module' }));
      mkdirSync(join(consumer, 'examples'));
      for (const pkg of packages) {
        const example = readmeExample(readFileSync(join(pkg.dir, 'README.md'), 'utf8'), relative(workspaceRoot, join(pkg.dir, 'README.md')));
        writeFileSync(join(consumer, 'examples', `${short(pkg)}.ts`), example.code);
      }
      writeFileSync(
        join(consumer, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            strict: true,
            types: ['node'],
            outDir: 'out',
            skipLibCheck: false,
          },
          include: ['examples'],
        }),
      );
      // The installed compiler by its path (npx would look for it on the registry). It emits
      // even with type errors, so a typing mistake does not hide what running prints. It
      // needs no native build: it compiles while the install scripts run.
      [compiled] = await Promise.all([run(join(prefix, 'bin', 'tsc'), ['-p', 'tsconfig.json'], { cwd: consumer }), runInstallScripts(prefix)]);
      // The examples and the commands, all at once: they are independent, and mostly wait.
      // The commands run from a folder outside the workspace, as a user's shell does.
      const command = async (line: string, options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<void> => {
        const [bin, ...args] = line.split(' ');
        commands.set(line, await run(join(prefix, 'bin', bin!), args, { cwd: dir, env: { ...process.env, ...options.env }, input: options.input }));
      };
      await Promise.all([
        ...packages
          .filter((pkg) => isRoot || !readmeExample(readFileSync(join(pkg.dir, 'README.md'), 'utf8'), pkg.dir).root)
          .map(async (pkg) => examples.set(pkg.manifest.name, await run('node', [join('out', `${short(pkg)}.js`)], { cwd: consumer }))),
        command('twill --version'),
        command('twill --help'),
        command('twill-agent --version'),
        command('twill-agent --help'),
        command('twill-cni', { env: { CNI_COMMAND: 'VERSION' }, input: '{"cniVersion":"1.1.0"}' }),
      ]);
    }, 1_200_000);

    it('is outside the workspace, and took every @twill/* package from its tarball: one copy each, none from a registry', () => {
      expect(relative(workspaceRoot, consumer).startsWith('..')).toBe(true);
      expect(existsSync(join(consumer, 'node_modules', '@twill', 'sys', 'src'))).toBe(false);
      for (const pkg of everything) {
        const copies = installedCopies(join(consumer, 'node_modules'), pkg.manifest.name);
        expect(copies, pkg.manifest.name).toEqual([join(consumer, 'node_modules', pkg.manifest.name)]);
      }
      // npm asked the empty registry about the @twill/* dependencies, and nothing else.
      expect(registry.filter((path) => !path.startsWith('/@twill/'))).toEqual([]);
    });

    it('@twill/sys built its addon and forwarder from the tarball on install', () => {
      const release = join(consumer, 'node_modules', '@twill', 'sys', 'build', 'Release');
      expect(existsSync(join(release, 'twill_sys.node'))).toBe(true);
      expect(existsSync(join(release, 'twill-forward'))).toBe(true);
    });

    it('resolves every export to dist/ under the default conditions (the @twill/source condition is inert)', async () => {
      const specifiers = packages.flatMap((pkg) =>
        [...new Set(exportTargets(pkg.manifest).map((t) => t.subpath))].map((subpath) => `${pkg.manifest.name}${subpath.slice(1)}`),
      );
      const script = `for (const s of ${JSON.stringify(specifiers)}) console.log(s, import.meta.resolve(s));`;
      const lines = (await runOk('node', ['--input-type=module', '-e', script], consumer)).trim().split('\n');
      for (const line of lines) {
        const [specifier, url] = line.split(' ');
        const path = new URL(url!).pathname;
        expect(path.startsWith(join(consumer, 'node_modules')), line).toBe(true);
        expect(path, specifier).toMatch(/\/(dist\/.*\.js|package\.json)$/);
      }
      expect(lines).toHaveLength(specifiers.length);
    });

    it("typechecks every README example with the user's TypeScript against the tarballs' declarations", () => {
      expect(compiled?.stdout).toBe('');
      expect(compiled?.status).toBe(0);
    });

    for (const pkg of packages) {
      const example = readmeExample(readFileSync(join(pkg.dir, 'README.md'), 'utf8'), `${short(pkg)}/README.md`);
      const skip = example.root && !isRoot ? ' (skipped: the example needs root)' : '';
      it.skipIf(skip !== '')(`${pkg.manifest.name}: the README example prints what the README says${skip}`, () => {
        const result = examples.get(pkg.manifest.name);
        expect(result?.stderr).toBe('');
        expect(result?.stdout).toBe(example.output);
        expect(result?.status).toBe(0);
      });
    }

    it("puts twill, twill-agent and twill-cni on the prefix's bin/, each the installed package's", () => {
      const bins = { twill: cli, 'twill-agent': agent, 'twill-cni': agent };
      for (const [name, pkg] of Object.entries(bins)) {
        const target = realpathSync(join(prefix, 'bin', name));
        expect(relative(join(consumer, 'node_modules', pkg.manifest.name), target), name).toBe(pkg.manifest.bin![name]!.replace(/^\.\//, ''));
      }
    });

    it('twill --version prints the CLI package version', () => {
      expect(commands.get('twill --version')).toEqual({ status: 0, stdout: `${cli.manifest.version}\n`, stderr: '' });
    });

    it('twill --help lists its commands', () => {
      const help = commands.get('twill --help')!;
      expect(help.stderr).toBe('');
      expect(help.status).toBe(0);
      expect(help.stdout).toMatch(/^Usage: twill <command> \[options\]\n/);
      for (const name of ['status', 'get', 'describe', 'apply', 'delete', 'policy', 'ipam', 'bgp', 'observe', 'cni', 'lab', 'ui', 'completion']) {
        expect(help.stdout, name).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
      }
    });

    it('twill-agent --version prints the agent package version', () => {
      expect(commands.get('twill-agent --version')).toEqual({ status: 0, stdout: `${agent.manifest.version}\n`, stderr: '' });
    });

    it('twill-agent --help lists its commands', () => {
      const help = commands.get('twill-agent --help')!;
      expect(help.stderr).toBe('');
      expect(help.status).toBe(0);
      expect(help.stdout).toMatch(/^Usage: twill-agent \[options\] \[command\]\n/);
      for (const name of ['run', 'install-cni', 'manifests']) expect(help.stdout, name).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    });

    it('twill-cni answers CNI VERSION with the spec versions it supports', () => {
      const result = commands.get('twill-cni')!;
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({ cniVersion: '1.1.0', supportedVersions: ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
    });
  });
});
