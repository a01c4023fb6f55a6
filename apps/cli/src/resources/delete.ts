// `twill delete KIND NAME` and `twill delete -f FILE|DIR|-`: objects removed through
// the agent, one line each. An object that is not there is exit 1 (kubectl's way),
// unless --ignore-not-found.

import { AgentApiError, agentClientFor, type AgentSocketOptions } from '../client/index.js';
import { type CommandContext } from '../context.js';
import { FailedError, UsageError } from '../errors.js';
import { checkDocuments, readResourceFiles } from './documents.js';
import { qualifiedSingular, type CliKind } from './kinds.js';
import { notFound } from './read.js';
import { resolveKindArgument, resolveScope, writableKind } from './scope.js';

/** The options of `delete`, as parsed. */
export interface DeleteOptions extends AgentSocketOptions {
  readonly filename?: readonly string[];
  readonly namespace?: string;
  readonly ignoreNotFound?: boolean;
}

/** Runs `delete`; 0 when every object was deleted (or absent, with --ignore-not-found), 1 otherwise. */
export async function runDelete(ctx: CommandContext, kindText: string | undefined, name: string | undefined, options: DeleteOptions): Promise<number> {
  const files = options.filename ?? [];
  const targets: { kind: CliKind; name: string; namespace?: string; where?: string }[] = [];
  if (files.length > 0) {
    if (kindText !== undefined) throw new UsageError(ctx.command, 'KIND', 'cannot be used with --filename (the documents name what to delete)');
    const docs = await readResourceFiles(ctx.io, ctx.command, files);
    for (const checked of checkDocuments(ctx.command, docs, { ...(options.namespace === undefined ? {} : { namespace: options.namespace }), validatePolicy: false })) {
      const { namespace } = checked.resource.metadata;
      targets.push({ kind: checked.kind, name: checked.resource.metadata.name, ...(namespace === undefined ? {} : { namespace }), where: checked.where });
    }
  } else {
    if (kindText === undefined) throw new UsageError(ctx.command, 'KIND', 'required: KIND NAME, or -f FILE|DIR|- (usage: twill delete KIND NAME [-n NS] | twill delete -f FILE)');
    const kind = writableKind(ctx.command, resolveKindArgument(ctx.command, kindText));
    if (name === undefined) throw new UsageError(ctx.command, 'NAME', `required: which ${kind.singular} to delete`);
    const scope = resolveScope(ctx.command, kind, options, name);
    targets.push({ kind, name, ...(scope.all || scope.namespace === undefined ? {} : { namespace: scope.namespace }) });
  }
  const client = agentClientFor(ctx, options);
  let missing = 0;
  for (const target of targets) {
    try {
      await client.delete(target.kind.id, target.name, target.namespace === undefined ? {} : { namespace: target.namespace });
      ctx.io.stdout.write(`${qualifiedSingular(target.kind)}/${target.name} deleted\n`);
    } catch (error) {
      if (!(error instanceof AgentApiError && error.code === 'NotFound')) throw error;
      if (options.ignoreNotFound === true) continue;
      missing += 1;
      const line = notFound(ctx.command, target.kind, target.name, target.namespace === undefined ? { all: false } : { all: false, namespace: target.namespace });
      // With -f, say which document named it and go on with the others.
      ctx.io.stderr.write(`${(target.where === undefined ? line : new FailedError(ctx.command, target.where, line.what)).line()}\n`);
    }
  }
  return missing === 0 ? 0 : 1;
}
