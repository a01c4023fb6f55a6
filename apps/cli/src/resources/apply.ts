// `twill apply -f FILE|DIR|-`: every document checked here first (policy kinds by the
// policy engine, with file:line and the field), then the batch sent at once; the agent
// validates it whole too and writes all or nothing. Applying the same files again
// changes nothing and says `unchanged`.

import { AgentApiError, agentClientFor, type AgentClient, type AgentResource, type AgentSocketOptions } from '../client/index.js';
import { type CommandContext } from '../context.js';
import { FailedError, UsageError } from '../errors.js';
import { describeDocument } from '../policy/compile.js';
import { locate } from '../policy/documents.js';
import { renderJson, renderYaml } from '../output.js';
import { checkDocuments, readResourceFiles, type ResourceDocument } from './documents.js';
import { findKind, qualifiedSingular } from './kinds.js';

/** The options of `apply`, as parsed. */
export interface ApplyOptions extends AgentSocketOptions {
  readonly filename?: readonly string[];
  readonly namespace?: string;
  readonly dryRun?: boolean;
  readonly output?: 'json' | 'yaml';
}

// What a failed batch wrote, as the agent says (`applied`): nothing, the first N, or
// nothing said (an older agent): then no claim either way.
function writtenText(applied: number | undefined, dryRun: boolean): string {
  if (dryRun || applied === 0) return '; nothing was written';
  if (applied === undefined) return '';
  return `; the ${applied === 1 ? 'first document was' : `first ${applied} documents were`} applied`;
}

/** The metadata an API server sets: never the user's, meaningless in another system. */
export const SERVER_SET_METADATA = ['uid', 'resourceVersion', 'managedFields', 'creationTimestamp', 'generation', 'selfLink'] as const;

// Read from an API server: it carries a uid or managedFields.
function isExported(resource: AgentResource): boolean {
  const metadata = resource.metadata as unknown as Readonly<Record<string, unknown>>;
  return metadata['uid'] !== undefined || metadata['managedFields'] !== undefined;
}

/**
 * A document exported from another system (`kubectl get -o yaml`) made fit to apply.
 * The rule: a document whose metadata carries `uid` or `managedFields` was read from an
 * API server. If twill holds the same object with that uid, it is twill's own copy
 * (`twill get -o yaml`) and is sent as it is: its resourceVersion is a compare-and-swap
 * condition. Otherwise (the object is not in twill, or has another uid) every field of
 * {@link SERVER_SET_METADATA} is dropped: another system's resourceVersion means nothing
 * here. A document without `uid` or `managedFields` is sent as written (a resourceVersion
 * the user wrote is a condition).
 * @param storedUid - The uid twill holds for the object, or undefined when it holds none.
 */
export function fromAnotherSystem(resource: AgentResource, storedUid: string | undefined): AgentResource {
  const metadata = resource.metadata as unknown as Readonly<Record<string, unknown>>;
  if (!isExported(resource)) return resource;
  if (storedUid !== undefined && metadata['uid'] === storedUid) return resource;
  const kept = Object.fromEntries(Object.entries(metadata).filter(([key]) => !(SERVER_SET_METADATA as readonly string[]).includes(key)));
  return { ...resource, metadata: kept as unknown as AgentResource['metadata'] };
}

// The uid twill holds for each exported document's object (documents with neither uid nor managedFields are not looked up).
async function withoutForeignMetadata(client: AgentClient, checked: readonly ResourceDocument[]): Promise<AgentResource[]> {
  return Promise.all(
    checked.map(async ({ kind, resource }) => {
      const { metadata } = resource;
      if (!isExported(resource)) return resource;
      let storedUid: string | undefined;
      try {
        const namespace = metadata.namespace;
        storedUid = (await client.get(kind.id, metadata.name, namespace === undefined ? {} : { namespace })).metadata.uid;
      } catch (error) {
        if (!(error instanceof AgentApiError && error.code === 'NotFound')) throw error;
      }
      return fromAnotherSystem(resource, storedUid);
    }),
  );
}

/** Runs `apply`; 0 when every object was applied. Bad documents are a UsageError (exit 2) and nothing is written. */
export async function runApply(ctx: CommandContext, options: ApplyOptions): Promise<number> {
  if (options.filename === undefined || options.filename.length === 0) {
    throw new UsageError(ctx.command, '--filename', 'required: the files or folders to apply (-f FILE|DIR, or -f - for stdin)');
  }
  const docs = await readResourceFiles(ctx.io, ctx.command, options.filename);
  const checked = checkDocuments(ctx.command, docs, { ...(options.namespace === undefined ? {} : { namespace: options.namespace }), validatePolicy: true });
  const client = agentClientFor(ctx, options);
  let results;
  try {
    results = await client.apply(await withoutForeignMetadata(client, checked), { dryRun: options.dryRun === true });
  } catch (error) {
    // The body is over what the agent takes in one request; -f DIR users choose files, not items.
    if (error instanceof AgentApiError && error.status === 413) {
      throw new FailedError(ctx.command, '', `the ${checked.length} documents are more than the agent takes in one request (1 MiB): apply fewer files at a time (agent: 413 ${error.code}; nothing was written)`, { cause: error });
    }
    // The agent refused one item: point at its document.
    const item = error instanceof AgentApiError && error.body.index !== undefined ? checked[error.body.index] : undefined;
    if (item === undefined || !(error instanceof AgentApiError)) throw error;
    const field = error.body.field ?? '';
    const message = field !== '' && !error.body.message.includes(field) ? `${field}: ${error.body.message}` : error.body.message;
    const subject = describeDocument(item.doc);
    const what = `${message.startsWith(subject) ? '' : `${subject}: `}${message}`;
    if (error.status === 422) throw new UsageError(ctx.command, locate(item.doc, field), `${what} (the agent refused it; nothing was written)`, { cause: error });
    // A stale resourceVersion (409) and the like: the document was right, the cluster moved on (exit 1).
    const at = field === '' && error.status === 409 ? 'metadata.resourceVersion' : field;
    throw new FailedError(ctx.command, locate(item.doc, at), `${what} (agent: ${error.status} ${error.code}${writtenText(error.body.applied, options.dryRun === true)})`, { cause: error });
  }
  if (options.output !== undefined) {
    const value = { results, dryRun: options.dryRun === true };
    ctx.io.stdout.write(options.output === 'json' ? renderJson(value) : renderYaml(value));
    return 0;
  }
  const suffix = options.dryRun === true ? ' (dry run)' : '';
  for (const result of results) {
    const kind = findKind(result.kind);
    ctx.io.stdout.write(`${kind === undefined ? result.kind : qualifiedSingular(kind)}/${result.name} ${result.action}${suffix}\n`);
  }
  return 0;
}
