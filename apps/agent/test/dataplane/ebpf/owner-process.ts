// Test helper: owner.ts as a child process (an agent that can be killed), and what
// bpftool says about the kernel objects behind a pin root.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import readline from 'node:readline';

import { type OwnerConfig, type OwnerReady } from './owner.js';

const OWNER = join(import.meta.dirname, 'owner.ts');

/** Starts an owner process and waits for its "ready" line. */
export async function startOwner(config: OwnerConfig): Promise<{ child: ChildProcess; ready: OwnerReady }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@twill/source', OWNER, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const lines = readline.createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const ready = await new Promise<OwnerReady>((resolve, reject) => {
    lines.once('line', (line) => resolve(JSON.parse(line) as OwnerReady));
    child.once('exit', (code) => reject(new Error(`owner exited with ${code}: ${stderr}`)));
  });
  return { child, ready };
}

/** Signals a child and waits for it to exit (nothing when it has exited already). */
export async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

/** A map pinned under the pin root, as bpftool shows it. */
export interface PinnedMapShown {
  readonly name: string;
  readonly id: string;
  readonly maxEntries: number;
}

/** The kernel ids behind the pins under `pinRoot`, as bpftool shows them. */
export function pinnedIds(pinRoot: string): { links: string[]; programs: string[]; maps: string[]; linkPins: string[]; pinnedMaps: PinnedMapShown[] } {
  const show = (kind: 'link' | 'map', path: string) => JSON.parse(execFileSync('bpftool', ['-j', kind, 'show', 'pinned', path], { encoding: 'utf8' })) as { id: number; prog_id?: number; max_entries?: number };
  const linkPins = ['ingress', 'egress'].flatMap((hook) => readdirSync(`${pinRoot}/links/${hook}`).map((name) => `${hook}/${name}`)).sort();
  const links = linkPins.map((pin) => show('link', `${pinRoot}/links/${pin}`));
  const pinnedMaps = readdirSync(pinRoot).filter((n) => n !== 'links').sort().map((name) => {
    const shown = show('map', `${pinRoot}/${name}`);
    return { name, id: String(shown.id), maxEntries: shown.max_entries ?? 0 };
  });
  return { links: links.map((l) => String(l.id)), programs: [...new Set(links.map((l) => String(l.prog_id)))], maps: pinnedMaps.map((m) => m.id), linkPins, pinnedMaps };
}

/** Whether bpftool still finds a kernel object (freeing is asynchronous: asked a few times). */
export async function stillThere(kind: 'link' | 'prog' | 'map', id: string): Promise<boolean> {
  for (let i = 0; i < 20; i += 1) {
    try {
      execFileSync('bpftool', [kind, 'show', 'id', id], { stdio: 'pipe' });
    } catch {
      return false;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}
