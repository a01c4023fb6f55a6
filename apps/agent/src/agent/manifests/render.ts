// Multi-document YAML from plain manifest objects, with comments: a builder marks an
// object (a document, a rule, a container's securityContext) with the text that says why
// it is there, and the renderer writes that text as a `#` comment above it.
import { Document, isMap, isScalar, isSeq, type Node } from 'yaml';

// Objects stay plain (JSON-able, comparable in tests); their comments live beside them.
const COMMENTS = new WeakMap<object, string>();

/** Marks `value` with `comment` (one or more lines) and returns it. */
export function withComment<T extends object>(value: T, comment: string): T {
  COMMENTS.set(value, comment);
  return value;
}

// Comments of a map's keys whose values are scalars (which a WeakMap cannot hold).
const KEY_COMMENTS = new WeakMap<object, Readonly<Record<string, string>>>();

/** Marks keys of `value` (whose values may be scalars) with comments and returns it. */
export function withKeyComments<T extends object>(value: T, comments: Readonly<Record<string, string>>): T {
  KEY_COMMENTS.set(value, comments);
  return value;
}

/** The comment `value` was marked with, if any. */
export function commentOf(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null ? COMMENTS.get(value) : undefined;
}

// yaml writes `#` before each line of a comment; a leading space reads better.
function commentText(comment: string): string {
  return comment
    .split('\n')
    .map((line) => (line === '' ? '' : ` ${line}`))
    .join('\n');
}

// Walks the source value and its YAML node together, copying the marks onto the nodes:
// on a map's key (the comment above `securityContext:`) or a list's item (above `- `).
function attachComments(source: unknown, node: Node | null | undefined): void {
  if (node === null || node === undefined) return;
  if (isMap(node) && typeof source === 'object' && source !== null && !Array.isArray(source)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key === undefined) continue;
      const value = (source as Record<string, unknown>)[key];
      const comment = commentOf(value) ?? KEY_COMMENTS.get(source)?.[key];
      if (comment !== undefined && isScalar(pair.key)) pair.key.commentBefore = commentText(comment);
      attachComments(value, pair.value as Node | null);
    }
  } else if (isSeq(node) && Array.isArray(source)) {
    node.items.forEach((item, index) => {
      const value: unknown = source[index];
      const comment = commentOf(value);
      if (comment !== undefined && item !== null && typeof item === 'object') (item as Node).commentBefore = commentText(comment);
      attachComments(value, item as Node | null);
    });
  }
}

/**
 * The objects as one YAML stream (`---` between documents), each object's mark above
 * it and the marks inside it as comments. Keys keep their insertion order; long lines
 * are not folded (a folded selector is harder to read and to grep).
 */
export function renderYamlDocuments(objects: readonly object[], header?: string): string {
  const parts = objects.map((object, index) => {
    // Shared schema objects are written out each time: anchors and aliases would confuse readers and some tools.
    const document = new Document(object, { aliasDuplicateObjects: false });
    const comment = [index === 0 ? header : undefined, commentOf(object)].filter((c) => c !== undefined).join('\n\n');
    if (comment !== '') document.commentBefore = commentText(comment);
    attachComments(object, document.contents as Node | null);
    return document.toString({ lineWidth: 0 });
  });
  return parts.join('---\n');
}
