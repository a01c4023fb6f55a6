// What runPlugin hands to a plugin's handlers, and what it needs from its host.
import { type GcAttachment } from '../spec/plugin-output.js';
import { type CniResult } from '../spec/result.js';
import { type CniVersion } from '../spec/versions.js';
import { type CniArgs } from './cni-args.js';
import { type EnvironmentVariables } from './environment.js';
import { type PluginConfig } from './plugin-config.js';
import { type PluginInput } from './stdin.js';

/** Something text can be written to (Node's `process.stdout` fits). */
export interface TextSink {
  /** Writes `chunk`; the return value is ignored. */
  write(chunk: string): unknown;
}

/** The process around a plugin, injected so that tests never touch `process`. */
export interface PluginIo {
  /** The environment (`process.env`). */
  readonly env: EnvironmentVariables;
  /** The configuration stream (`process.stdin`), or its bytes. */
  readonly stdin: PluginInput;
  /** Where the result or error JSON goes: nothing else is ever written there. */
  readonly stdout: TextSink;
  /** Where logs and internal error traces go. */
  readonly stderr: TextSink;
}

/** What every request carries. */
export interface RequestBase {
  /** The request's spec version (the config's `cniVersion`, normalized). */
  readonly cniVersion: CniVersion;
  /** The decoded configuration; `config.raw` has the plugin-specific keys. */
  readonly config: PluginConfig;
  /** CNI_ARGS, parsed. */
  readonly args: CniArgs;
  /** CNI_PATH, split: where delegated plugins are found. */
  readonly path: readonly string[];
}

/** An ADD, DEL or CHECK request: one attachment `(containerId, ifName)`. */
export interface AttachmentRequest extends RequestBase {
  /** CNI_CONTAINERID. */
  readonly containerId: string;
  /** CNI_IFNAME: the interface name inside the container. */
  readonly ifName: string;
  /** CNI_NETNS; only DEL may lack it (the namespace may already be gone). */
  readonly netns: string | undefined;
}

/** ADD: CNI_NETNS is always there. */
export interface AddRequest extends AttachmentRequest {
  readonly netns: string;
}

/** CHECK: CNI_NETNS is always there; `config.prevResult` holds the ADD result. */
export interface CheckRequest extends AttachmentRequest {
  readonly netns: string;
}

/** DEL: the plugin should release what it can even when CNI_NETNS or prevResult is missing. */
export type DelRequest = AttachmentRequest;

/** GC (spec 1.1.0): release every resource not held by one of `validAttachments`. */
export interface GcRequest extends RequestBase {
  /** `cni.dev/valid-attachments`; empty when the runtime sent none or null, as libcni does. */
  readonly validAttachments: readonly GcAttachment[];
}

/** STATUS (spec 1.1.0): succeed when ready for ADD; throw a CniError 50 or 51 otherwise. */
export type StatusRequest = RequestBase;

/** A handler's return: a value or a promise of one. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * A plugin: its handlers and what it supports. Handlers throw a CniError to fail with a
 * spec code (100 and above for the plugin's own); anything else becomes an internal
 * error (code {@link INTERNAL_ERROR_CODE}).
 */
export interface PluginHandlers {
  /** ADD: returns the result, in any version; runPlugin converts it to the request's. */
  add(request: AddRequest): MaybePromise<CniResult>;
  /** DEL: idempotent; succeed when the attachment is already gone. */
  del(request: DelRequest): MaybePromise<void>;
  /** CHECK: throw when the attachment is not as `config.prevResult` describes. */
  check(request: CheckRequest): MaybePromise<void>;
  /** GC; without it, GC succeeds doing nothing (the plugin holds no state to collect). */
  gc?(request: GcRequest): MaybePromise<void>;
  /** STATUS; without it, STATUS succeeds (the plugin is always ready). */
  status?(request: StatusRequest): MaybePromise<void>;
  /** The versions the plugin accepts and lists for VERSION. Default: all of SUPPORTED_VERSIONS. */
  readonly supportedVersions?: readonly CniVersion[];
  /** The CNI_ARGS keys the plugin knows; others fail with code 4 unless IgnoreUnknown. Default: any key. */
  readonly knownArgs?: readonly string[];
  /**
   * Drop what the request's version cannot express when converting an ADD result, as
   * libcni does, instead of failing with code 1. Default: false.
   */
  readonly allowLossyResult?: boolean;
  /** The stdin cap in bytes. Default: 1 MiB. */
  readonly maxStdinBytes?: number;
}

/**
 * The code of an unexpected failure inside the plugin (a thrown non-CniError, an invalid
 * result). 999 is libcni's `ErrInternal`; it lies in the plugin range (100+) since the
 * spec reserves 0-99 for its own codes.
 */
export const INTERNAL_ERROR_CODE = 999;
