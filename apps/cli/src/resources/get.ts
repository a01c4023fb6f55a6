// `twill get KIND [NAME]`: a table per kind (kubectl's and calicoctl's columns, more
// with -o wide), or the objects as JSON or YAML (a `List` for several, as kubectl).

import { agentClientFor, type AgentSocketOptions, type StoredResource } from '../client/index.js';
import { type CommandContext } from '../context.js';
import { renderJson, renderTable, renderYaml, type Column, type OutputFormat } from '../output.js';
import { ageText, BLOCK_COLUMNS, ENDPOINT_COLUMNS, endpointName, RESOURCE_COLUMNS, type KindColumn } from './columns.js';
import { type CliKind } from './kinds.js';
import { readKind, type KindItems } from './read.js';
import { resolveKindArgument, resolveScope, type NamespaceScope } from './scope.js';

/** The options of `get`, as parsed. */
export interface GetOptions extends AgentSocketOptions {
  readonly namespace?: string;
  readonly allNamespaces?: boolean;
  readonly output: OutputFormat;
}

/** Runs `get`; 0 when it printed, or a FailedError (exit 1) for a named object that is not there. */
export async function runGet(ctx: CommandContext, kindText: string, name: string | undefined, options: GetOptions): Promise<number> {
  const kind = resolveKindArgument(ctx.command, kindText);
  const scope = resolveScope(ctx.command, kind, options, name);
  const client = agentClientFor(ctx, options);
  const read = await readKind(ctx.command, client, kind, scope, name);
  const { stdout } = ctx.io;
  if (options.output === 'json' || options.output === 'yaml') {
    const value = documentOf(read, name !== undefined);
    stdout.write(options.output === 'json' ? renderJson(value) : renderYaml(value));
    return 0;
  }
  if (read.items.length === 0) {
    ctx.io.stderr.write(`No ${kind.plural} found${!scope.all && scope.namespace !== undefined ? ` in namespace ${scope.namespace}` : ''}.\n`);
    return 0;
  }
  stdout.write(renderKindTable(kind, read, { scope, wide: options.output === 'wide', now: Date.now() }, ctx));
  return 0;
}

/** What `-o json|yaml` prints: the object when one was named, else the list. */
export function documentOf(read: KindItems, named: boolean): unknown {
  if (named) return read.items[0];
  if (read.source === 'resource') return { apiVersion: 'v1', kind: 'List', items: read.items };
  return { items: read.items };
}

/** How a table is laid out. */
export interface TableLayout {
  readonly scope: NamespaceScope;
  readonly wide: boolean;
  /** The time AGE is counted to, in milliseconds since the epoch. */
  readonly now: number;
}

function table<T>(
  columns: readonly KindColumn<T>[],
  items: readonly T[],
  layout: TableLayout,
  identity: { namespace?: (item: T) => string; name?: (item: T) => string; since?: (item: T) => number | undefined },
  ctx: Pick<CommandContext, 'style'>,
): string {
  const shown = columns.filter((c) => layout.wide || c.wide !== true);
  const withNamespace = layout.scope.all && identity.namespace !== undefined;
  const headers: Column[] = [
    ...(withNamespace ? [{ header: 'NAMESPACE' }] : []),
    ...(identity.name === undefined ? [] : [{ header: 'NAME' }]),
    ...shown.map((c) => ({ header: c.header, ...(c.align === undefined ? {} : { align: c.align }) })),
    ...(identity.since === undefined ? [] : [{ header: 'AGE' }]),
  ];
  const rows = items.map((item) => {
    const since = identity.since?.(item);
    return [
      ...(withNamespace && identity.namespace !== undefined ? [identity.namespace(item)] : []),
      ...(identity.name === undefined ? [] : [identity.name(item)]),
      ...shown.map((c) => c.cell(item)),
      ...(identity.since === undefined ? [] : [since === undefined || Number.isNaN(since) ? '<unknown>' : ageText(since, layout.now)]),
    ];
  });
  return renderTable(headers, rows, ctx.style.enabled ? ctx.style : undefined);
}

/** The table of `get` for any kind. */
export function renderKindTable(kind: CliKind, read: KindItems, layout: TableLayout, ctx: Pick<CommandContext, 'style'>): string {
  switch (read.source) {
    case 'resource':
      return table<StoredResource>(RESOURCE_COLUMNS[kind.id] ?? [], read.items, layout, {
        ...(kind.namespaced ? { namespace: (r: StoredResource) => r.metadata.namespace ?? '' } : {}),
        name: (r) => r.metadata.name,
        since: (r) => Date.parse(r.metadata.creationTimestamp),
      }, ctx);
    case 'ipamblocks':
      return table(BLOCK_COLUMNS, read.items, layout, {}, ctx);
    case 'endpoints':
      return table(ENDPOINT_COLUMNS, read.items, layout, { namespace: (e) => e.namespace ?? '', name: endpointName, since: (e) => e.since }, ctx);
  }
}
