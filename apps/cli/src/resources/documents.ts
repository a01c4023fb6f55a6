// The resource documents `apply -f` and `delete -f` read: files, folders (their .yaml,
// .yml and .json files at any depth) and `-` for stdin, each document checked for what
// every resource needs (a known apiVersion and kind, a name, a namespace only where one
// belongs) and, for policy kinds, compiled by the policy engine for its precise errors,
// each at its file:line.

import { UsageError } from '../errors.js';
import { type AgentResource } from '../client/index.js';
import { type CliIo } from '../io.js';
import { describeDocument, documentProblem } from '../policy/compile.js';
import { expandPaths, locate, parseDocuments, readText, type SourceDocument } from '../policy/documents.js';
import { compileResourceDocument } from '@twill/policy-engine';
import { type CliKind, kindOfDocument } from './kinds.js';
import { DEFAULT_NAMESPACE } from './scope.js';

/** How stdin is named in messages. */
export const STDIN_NAME = '<stdin>';

/** A document ready to send, and where it came from. */
export interface ResourceDocument {
  readonly doc: SourceDocument;
  readonly kind: CliKind;
  readonly resource: AgentResource;
  /** `file:line` of the document. */
  readonly where: string;
}

/** A problem found in a document: where and what. */
interface Problem {
  readonly where: string;
  readonly what: string;
}

/**
 * Every document of `paths`.
 * @throws {UsageError} at `--filename` for a missing path or a folder without documents,
 *   and at `file:line:column` for YAML that does not parse.
 */
export async function readResourceFiles(io: CliIo, command: string, paths: readonly string[]): Promise<SourceDocument[]> {
  const docs: SourceDocument[] = [];
  let stdinRead = false;
  for (const path of paths) {
    let sources: { file: string; text: string }[];
    if (path === '-') {
      if (stdinRead) throw new UsageError(command, '--filename', '- (stdin) given twice');
      stdinRead = true;
      sources = [{ file: STDIN_NAME, text: await io.stdin.readText() }];
    } else {
      const files = await expandPaths(io, command, '--filename', [path]);
      sources = await Promise.all(files.map(async (file) => ({ file, text: await readText(io, command, file) })));
    }
    for (const { file, text } of sources) {
      const parsed = parseDocuments(file, text);
      if (parsed.problem !== undefined) throw new UsageError(command, parsed.problem.where, parsed.problem.what);
      docs.push(...parsed.documents);
    }
  }
  if (docs.length === 0) throw new UsageError(command, '--filename', `${paths.join(', ')}: no documents`);
  return docs;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

// One document's problem, or the resource it is.
function checkDocument(doc: SourceDocument, namespaceFlag: string | undefined, validatePolicy: boolean): ResourceDocument | Problem {
  const value = doc.value;
  const subject = describeDocument(doc);
  const at = (field: string, what: string): Problem => ({ where: locate(doc, field), what: `${subject}: ${field === '' ? '' : `${field}: `}${what}` });
  if (!isObject(value)) return at('', 'a resource document is an object with apiVersion, kind and metadata');
  const { apiVersion, kind: kindName, metadata } = value;
  if (typeof apiVersion !== 'string') return at('apiVersion', 'required (a string)');
  if (typeof kindName !== 'string') return at('kind', 'required (a string)');
  const kind = kindOfDocument(apiVersion, kindName);
  if ('problem' in kind) return at(kind.field, kind.problem);
  if (!isObject(metadata)) return at('metadata', 'required (an object with name)');
  if (typeof metadata['name'] !== 'string' || metadata['name'] === '') return at('metadata.name', 'required (a string)');
  const namespace = metadata['namespace'];
  if (namespace !== undefined && typeof namespace !== 'string') return at('metadata.namespace', 'must be a string');
  let resource = value as unknown as AgentResource;
  if (kind.namespaced) {
    if (namespace !== undefined && namespaceFlag !== undefined && namespace !== namespaceFlag) {
      return at('metadata.namespace', `${JSON.stringify(namespace)} does not match --namespace ${JSON.stringify(namespaceFlag)}`);
    }
    if (namespace === undefined) resource = { ...resource, metadata: { ...resource.metadata, namespace: namespaceFlag ?? DEFAULT_NAMESPACE } };
  } else if (namespace !== undefined) {
    return at('metadata.namespace', `${kind.kind} is cluster-wide: it has no namespace`);
  }
  if (validatePolicy && kind.dialect !== undefined) {
    try {
      compileResourceDocument(value);
    } catch (error) {
      const problem = documentProblem(doc, error);
      return { where: problem.where, what: problem.what };
    }
  }
  return { doc, kind, resource, where: locate(doc) };
}

const identity = (r: ResourceDocument): string => `${r.kind.id}/${r.resource.metadata.namespace ?? ''}/${r.resource.metadata.name}`;

/**
 * Checks every document (all of them, before anything is sent).
 * @param validatePolicy - Compile policy kinds with the policy engine (apply; delete only needs names).
 * @throws {UsageError} at the first problem's `file:line`, saying how many more there are.
 */
export function checkDocuments(command: string, docs: readonly SourceDocument[], options: { readonly namespace?: string; readonly validatePolicy: boolean }): ResourceDocument[] {
  const problems: Problem[] = [];
  const out: ResourceDocument[] = [];
  const seen = new Map<string, ResourceDocument>();
  for (const doc of docs) {
    const checked = checkDocument(doc, options.namespace, options.validatePolicy);
    if (!('resource' in checked)) {
      problems.push(checked);
      continue;
    }
    const earlier = seen.get(identity(checked));
    if (earlier !== undefined) {
      problems.push({ where: checked.where, what: `${describeDocument(doc)}: the same object is also at ${earlier.where}` });
      continue;
    }
    seen.set(identity(checked), checked);
    out.push(checked);
  }
  const first = problems[0];
  if (first !== undefined) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more document problem${problems.length > 2 ? 's' : ''}; nothing was sent)` : '';
    throw new UsageError(command, first.where, `${first.what}${more}`);
  }
  return out;
}
