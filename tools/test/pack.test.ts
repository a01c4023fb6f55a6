// The packages as a user gets them: packed with `npm pack`, installed from the tarballs into
// a project outside this repository (third-party dependencies from the registry, through
// the local npm cache), and each README's example compiled with the user's TypeScript and
// run there. One install for all tarballs.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { workspaceRoot } from '../boundaries.js';
import { exportTargets, pack, publishedPackages, tarballProblems, type Packed, type PublishedPackage } from '../pack/packages.js';
import { readmeExample } from '../pack/readme-example.js';

// Run from `npm test`, this process inherits the outer npm's settings as npm_config_*
// variables (`npm run --silent` sets npm_config_loglevel=silent, which empties what
// `npm publish --dry-run` reports). The npm commands below are a user's own: without them.
for (const key of Object.keys(process.env)) if (/^npm_config_/i.test(key)) delete process.env[key];

const isRoot = process.getuid?.() === 0;
const packages = publishedPackages();
const short = (pkg: PublishedPackage): string => pkg.manifest.name.replace('@twill/', '');

function workspaceVersion(name: string): string {
  return (JSON.parse(readFileSync(join(workspaceRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

function run(command: string, args: readonly string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 600_000 });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} in ${cwd} exited ${result.status ?? result.signal}:\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

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

describe('publishable packages', () => {
  const dir = mkdtempSync(join(tmpdir(), 'twill-pack-'));
  const tarballs = join(dir, 'tarballs');
  const consumer = join(dir, 'consumer');
  const packed = new Map<string, Packed>();
  let compiled: { status: number | null; output: string } | undefined;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeAll(() => {
    mkdirSync(tarballs);
    for (const pkg of packages) packed.set(pkg.manifest.name, pack(pkg, tarballs));
  }, 300_000);

  it('publishes the packages under packages/, each public', () => {
    expect(packages.map((p) => p.manifest.name).sort()).toEqual([
      '@twill/bgp',
      '@twill/cni-core',
      '@twill/ebpf',
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

  for (const pkg of packages) {
    it(`${pkg.manifest.name}: the tarball holds the build, README, CHANGELOG and every export target, and no tests, sources or maps`, () => {
      const files = packed.get(pkg.manifest.name)!.files;
      expect(tarballProblems(pkg, files)).toEqual([]);
      expect(files).toContain('dist/index.d.ts');
      if (pkg.manifest.name === '@twill/sys') {
        expect(files).toContain('binding.gyp');
        expect(files.filter((f) => f.startsWith('native/')).length).toBeGreaterThan(0);
        expect(pkg.manifest.scripts?.install).toBe('node-gyp rebuild');
      }
    });

    it(`${pkg.manifest.name}: npm publish --dry-run warns of nothing but the missing login`, () => {
      const result = spawnSync('npm', ['publish', '--dry-run'], { cwd: pkg.dir, encoding: 'utf8' });
      expect(result.status, result.stderr).toBe(0);
      const warnings = result.stderr
        .split('\n')
        .filter((line) => /^npm (warn|error)/i.test(line))
        .filter((line) => !/requires you to be logged in/.test(line));
      expect(warnings).toEqual([]);
      expect(result.stderr).toContain(`${pkg.manifest.name}@${pkg.manifest.version}`);
    });
  }

  describe('installed from the tarballs into a project outside the workspace', () => {
    beforeAll(() => {
      mkdirSync(consumer);
      writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'twill-consumer', private: true, type: 'module' }));
      // Install scripts run below, one by one: @twill/sys's own (node-gyp from the tarball's
      // sources) as a user's install runs it. better-sqlite3 (a dependency of @twill/ipam)
      // would compile SQLite for minutes when its prebuilt download fails offline; its
      // binary from this workspace's install is the same file when the versions match.
      run(
        'npm',
        [
          'install',
          '--prefer-offline',
          '--ignore-scripts',
          '--no-audit',
          '--no-fund',
          '--loglevel=error',
          ...packages.map((p) => packed.get(p.manifest.name)!.tarball),
          `typescript@${workspaceVersion('typescript')}`,
          `@types/node@${workspaceVersion('@types/node')}`,
        ],
        consumer,
      );
      run('npm', ['rebuild', '--loglevel=error', '@twill/sys', 'netlink'], consumer);
      const sqlite = join(consumer, 'node_modules', 'better-sqlite3');
      const sqliteVersion = (JSON.parse(readFileSync(join(sqlite, 'package.json'), 'utf8')) as { version: string }).version;
      if (sqliteVersion === workspaceVersion('better-sqlite3')) {
        mkdirSync(join(sqlite, 'build', 'Release'), { recursive: true });
        const binary = join('build', 'Release', 'better_sqlite3.node');
        copyFileSync(join(workspaceRoot, 'node_modules', 'better-sqlite3', binary), join(sqlite, binary));
      } else {
        run('npm', ['rebuild', '--loglevel=error', 'better-sqlite3'], consumer);
      }

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
      // Emits even with type errors, so a typing mistake does not hide what running prints.
      const tsc = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: consumer, encoding: 'utf8' });
      compiled = { status: tsc.status, output: tsc.stdout + tsc.stderr };
    }, 900_000);

    it('is a project outside the workspace', () => {
      expect(relative(workspaceRoot, consumer).startsWith('..')).toBe(true);
      expect(existsSync(join(consumer, 'node_modules', '@twill', 'sys', 'src'))).toBe(false);
    });

    it('@twill/sys built its addon and forwarder from the tarball on install', () => {
      const release = join(consumer, 'node_modules', '@twill', 'sys', 'build', 'Release');
      expect(existsSync(join(release, 'twill_sys.node'))).toBe(true);
      expect(existsSync(join(release, 'twill-forward'))).toBe(true);
    });

    it('resolves every export to dist/ under the default conditions (the @twill/source condition is inert)', () => {
      const specifiers = packages.flatMap((pkg) =>
        [...new Set(exportTargets(pkg.manifest).map((t) => t.subpath))].map((subpath) => `${pkg.manifest.name}${subpath.slice(1)}`),
      );
      const script = `for (const s of ${JSON.stringify(specifiers)}) console.log(s, import.meta.resolve(s));`;
      const lines = execFileSync('node', ['--input-type=module', '-e', script], { cwd: consumer, encoding: 'utf8' }).trim().split('\n');
      for (const line of lines) {
        const [specifier, url] = line.split(' ');
        const path = new URL(url!).pathname;
        expect(path.startsWith(join(consumer, 'node_modules')), line).toBe(true);
        expect(path, specifier).toMatch(/\/(dist\/.*\.js|package\.json)$/);
      }
      expect(lines).toHaveLength(specifiers.length);
    });

    it("typechecks every README example with the user's TypeScript against the tarballs' declarations", () => {
      expect(compiled?.output).toBe('');
      expect(compiled?.status).toBe(0);
    });

    for (const pkg of packages) {
      const example = readmeExample(readFileSync(join(pkg.dir, 'README.md'), 'utf8'), `${short(pkg)}/README.md`);
      const skip = example.root && !isRoot ? ' (skipped: the example needs root)' : '';
      it.skipIf(skip !== '')(`${pkg.manifest.name}: the README example prints what the README says${skip}`, () => {
        const result = spawnSync('node', [join('out', `${short(pkg)}.js`)], { cwd: consumer, encoding: 'utf8', timeout: 60_000 });
        expect(result.stderr).toBe('');
        expect(result.stdout).toBe(example.output);
        expect(result.status).toBe(0);
      });
    }
  });
});
