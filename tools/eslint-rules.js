// Local ESLint rules for the workspace.
import { dirname, relative, resolve, sep } from 'node:path';

import { readProjects, workspaceRoot } from './boundaries.js';

const projects = readProjects();

/**
 * The project folder (absolute) that holds `file`, if any.
 * @param {string} file
 */
function projectOf(file) {
  return projects
    .map((p) => resolve(workspaceRoot, p.dir))
    .find((dir) => file === dir || file.startsWith(dir + sep));
}

/**
 * A relative import must stay inside its own project: another package is imported by
 * its name and exports, so its public API is the only way in.
 */
/** @type {import('eslint').Rule.RuleModule} */
const noCrossProjectRelativeImport = {
  meta: {
    type: 'problem',
    docs: { description: 'forbid relative imports that leave the project' },
    schema: [],
    messages: {
      leaves: 'import a workspace package by its name, not by a relative path ({{target}} is outside {{project}})',
    },
  },
  create(context) {
    const file = context.filename;
    const project = projectOf(file);
    if (!project) return {};
    /** @param {import('estree').ImportDeclaration | import('estree').ExportNamedDeclaration | import('estree').ExportAllDeclaration | import('estree').ImportExpression} node */
    const check = (node) => {
      const source = node.source;
      const spec = source && 'value' in source ? source.value : undefined;
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const target = resolve(dirname(file), spec);
      if (target === project || target.startsWith(project + sep)) return;
      context.report({
        node: source ?? node,
        messageId: 'leaves',
        data: { target: relative(workspaceRoot, target), project: relative(workspaceRoot, project) },
      });
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: check };
  },
};

export const twillPlugin = {
  meta: { name: 'twill' },
  rules: { 'no-cross-project-relative-import': noCrossProjectRelativeImport },
};
