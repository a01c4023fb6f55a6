// YAML (or JSON) documents read from the files a command names, each remembering
// where it came from, so an error or a finding points at `file:line`.

import { posix } from 'node:path';

import { isNode, LineCounter, parseAllDocuments, type Document } from 'yaml';

import { UsageError } from '../errors.js';
import { type CliIo } from '../io.js';

/** One resource document and where it is. */
export interface SourceDocument {
  /** The file as the user named it (or as found under a folder they named). */
  readonly file: string;
  /** The document's number in its file, from 1. */
  readonly number: number;
  /** Its path inside the YAML document: `items[2]` for an item of a `List`, `''` otherwise. */
  readonly path: string;
  readonly value: unknown;
  readonly yaml: Document;
  readonly lines: LineCounter;
}

/** A YAML file that does not parse: where and why. */
export interface YamlProblem {
  readonly where: string;
  readonly what: string;
}

const YAML_EXTENSIONS = ['.yaml', '.yml', '.json'];

/**
 * The files under `paths`: a file as it is, a folder's `.yaml`, `.yml` and `.json`
 * files at any depth in name order.
 * @throws {UsageError} at `flag` for a path that does not exist or a folder without any.
 */
export async function expandPaths(io: CliIo, command: string, flag: string, paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const absolute = posix.resolve(io.cwd, path);
    const kind = await io.files.kind(absolute);
    if (kind === 'missing') throw new UsageError(command, flag, `${path}: no such file or folder`);
    if (kind === 'file') {
      files.push(path);
      continue;
    }
    const found = await walk(io, path, absolute);
    if (found.length === 0) throw new UsageError(command, flag, `${path}: no .yaml, .yml or .json files in this folder`);
    files.push(...found);
  }
  return files;
}

async function walk(io: CliIo, shown: string, absolute: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await io.files.list(absolute)).sort()) {
    if (name.startsWith('.')) continue;
    const child = posix.join(absolute, name);
    const kind = await io.files.kind(child);
    if (kind === 'directory') out.push(...(await walk(io, posix.join(shown, name), child)));
    else if (kind === 'file' && YAML_EXTENSIONS.some((ext) => name.endsWith(ext))) out.push(posix.join(shown, name));
  }
  return out;
}

function yamlMessage(message: string): string {
  // The library's message is `<what> at line L, column C:` and a snippet; the place is said separately.
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}

/**
 * Every document of a file, `List` objects (`kubectl get -o yaml`) opened into their
 * items; empty documents are skipped.
 * @returns the documents, or the first YAML syntax problem.
 */
export function parseDocuments(file: string, text: string): { documents: SourceDocument[]; problem?: YamlProblem } {
  const lines = new LineCounter();
  const documents: SourceDocument[] = [];
  for (const [index, yaml] of parseAllDocuments(text, { lineCounter: lines, prettyErrors: true }).entries()) {
    const error = yaml.errors[0];
    if (error !== undefined) {
      const pos = error.linePos?.[0];
      return { documents, problem: { where: pos === undefined ? file : `${file}:${pos.line}:${pos.col}`, what: yamlMessage(error.message) } };
    }
    const value: unknown = yaml.toJS();
    if (value === null || value === undefined) continue;
    const base = { file, number: index + 1, yaml, lines };
    const items = listItems(value);
    if (items === undefined) documents.push({ ...base, path: '', value });
    else items.forEach((item, i) => documents.push({ ...base, path: `items[${i}]`, value: item }));
  }
  return { documents };
}

function listItems(value: unknown): unknown[] | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { kind, items } = value as { kind?: unknown; items?: unknown };
  return typeof kind === 'string' && kind.endsWith('List') && Array.isArray(items) ? items : undefined;
}

/**
 * Reads and parses every file.
 * @throws {UsageError} for a file that cannot be read or does not parse, at `file:line:column`.
 */
export async function readDocuments(io: CliIo, command: string, files: readonly string[]): Promise<SourceDocument[]> {
  const out: SourceDocument[] = [];
  for (const file of files) {
    const { documents, problem } = parseDocuments(file, await readText(io, command, file));
    if (problem !== undefined) throw new UsageError(command, problem.where, problem.what);
    out.push(...documents);
  }
  return out;
}

/** A file's text. @throws {UsageError} naming the file when it cannot be read. */
export async function readText(io: CliIo, command: string, file: string): Promise<string> {
  try {
    return await io.files.readText(posix.resolve(io.cwd, file));
  } catch (error) {
    throw new UsageError(command, file, `cannot read: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

function fieldKeys(path: string): (string | number)[] {
  const keys: (string | number)[] = [];
  for (const match of path.matchAll(/\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\]|([^.[\]]+)/g)) {
    if (match[1] !== undefined) keys.push(JSON.parse(`"${match[1]}"`) as string);
    else if (match[2] !== undefined) keys.push(Number(match[2]));
    else if (match[3] !== undefined) keys.push(match[3]);
  }
  return keys;
}

/**
 * `file:line` of a field of a document (`spec.ingress[0].from[1]`, the form the policy
 * engine's errors use), or of the nearest enclosing field that exists, or of the
 * document itself.
 */
export function locate(doc: SourceDocument, fieldPath = ''): string {
  const keys = fieldKeys([doc.path, fieldPath.replace(/ \(.*\)$/, '')].filter((p) => p !== '').join('.'));
  for (let n = keys.length; n >= 0; n -= 1) {
    const node = n === 0 ? doc.yaml.contents : doc.yaml.getIn(keys.slice(0, n), true);
    if (isNode(node) && node.range !== undefined && node.range !== null) {
      return `${doc.file}:${doc.lines.linePos(node.range[0]).line}`;
    }
  }
  return doc.file;
}
