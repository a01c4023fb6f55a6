// ESLint flat config for the whole workspace. Besides typescript-eslint's recommended
// rules it enforces the module boundaries of ARCHITECTURE.md (tools/boundaries.js):
// the dependency direction between projects by tags, no deep imports into another
// package, native code only in cni-core's net/, and I/O only in sys/ folders.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

import { folderConstraints, forbiddenImports, ioModules } from './tools/boundaries.js';
import { twillPlugin } from './tools/eslint-rules.js';

const ioPatterns = ioModules.flatMap((m) => [m, `node:${m}`]);
const ioMessage = 'only sys/ folders touch the kernel, files, sockets or processes (STYLE.md rule 2); put this behind a port';

/** no-restricted-imports options for one project's sources. */
function restrictions(project, extraPaths = [], extraPatterns = [], options = {}) {
  const allowTesting = options.allowTesting === true;
  return [
    'error',
    {
      paths: [
        // Tests of every package may use @twill/sys (its test helpers, sockets in a namespace).
        ...project.forbidden.filter((name) => !(allowTesting && name === '@twill/sys')).map((name) => ({
          name,
          message: `${project.name} (${project.tags.join(', ')}) must not depend on ${name}: see tools/boundaries.js`,
        })),
        ...extraPaths,
      ],
      patterns: [
        ...project.forbidden.filter((name) => !(allowTesting && name === '@twill/sys')).map((name) => ({
          group: [`${name}/*`],
          message: `${project.name} must not depend on ${name}: see tools/boundaries.js`,
        })),
        {
          group: ['@twill/*/src', '@twill/*/src/*', '@twill/*/dist', '@twill/*/dist/*'],
          message: 'import a workspace package by its name and exports, never its files',
        },
        ...extraPatterns,
      ],
    },
  ];
}

const projects = forbiddenImports();

// ESLint loads its configuration through a default export.
// eslint-disable-next-line no-restricted-syntax
export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/build/**', '**/node_modules/**', '.nx/**', 'coverage/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023, sourceType: 'module' },
    plugins: { twill: twillPlugin },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'named exports only (STYLE.md rule 9)' },
        { selector: 'TSEnumDeclaration', message: 'use an `as const` object instead of an enum (STYLE.md rule 8)' },
      ],
    },
  },
  // Sources and tests reach other packages by name only (config files may share root helpers).
  {
    files: ['packages/*/src/**/*.{ts,tsx}', 'packages/*/test/**/*.{ts,tsx}', 'apps/*/src/**/*.{ts,tsx}', 'apps/*/test/**/*.{ts,tsx}'],
    rules: { 'twill/no-cross-project-relative-import': 'error' },
  },
  // Libraries log through an injected logger (STYLE.md rule 11).
  {
    files: ['packages/*/src/**/*.{ts,tsx}'],
    rules: { 'no-console': 'error' },
  },
  // Per project: dependency direction, no deep imports, and I/O only in sys/ folders.
  ...projects.flatMap((project) => {
    const folder = folderConstraints.filter((c) => c.project === project.name);
    const folderPaths = folder.flatMap((c) => c.modules.map((name) => ({ name, message: c.message })));
    const configs = [
      {
        files: [`${project.dir}/src/**/*.{ts,tsx}`],
        ignores: [`${project.dir}/src/**/sys/**`, ...folder.flatMap((c) => c.onlyIn.map((g) => `${project.dir}/${g}`))],
        rules: {
          'no-restricted-imports': restrictions(project, [
            ...folderPaths,
            ...ioPatterns.map((name) => ({ name, message: ioMessage })),
          ]),
        },
      },
    ];
    // sys/ folders may do I/O, and folders a folder constraint names may import its modules.
    configs.push({
      files: [`${project.dir}/src/**/sys/**/*.ts`, ...folder.flatMap((c) => c.onlyIn.map((g) => `${project.dir}/${g}`))],
      rules: { 'no-restricted-imports': restrictions(project) },
    });
    // The native package is the one sys/ folder at package scale.
    if (project.name === '@twill/sys') {
      configs.push({ files: [`${project.dir}/src/**/*.{ts,tsx}`], rules: { 'no-restricted-imports': restrictions(project) } });
    }
    // Tests may do I/O and use @twill/sys (a devDependency), but respect the dependency direction.
    configs.push({
      files: [`${project.dir}/test/**/*.ts`],
      rules: { 'no-restricted-imports': restrictions(project, [], [], { allowTesting: true }) },
    });
    return configs;
  }),
);
