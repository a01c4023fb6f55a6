// Reading and writing `<dir>/lab.json`. Updates are taken one at a time (up's steps run
// concurrently) and each is a whole new file renamed into place.

import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';

import { LAB_STATE_FILE } from '../plan.js';
import { decodeLabState, encodeLabState, type LabState } from '../state.js';
import { writeFileAtomic } from './host.js';

/** The lab state in `dir`, or undefined when there is no state file. @throws LabError `BAD_STATE`. */
export async function readLabState(dir: string): Promise<LabState | undefined> {
  const path = posix.join(dir, LAB_STATE_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw error;
  }
  return decodeLabState(path, text);
}

/** The state file of a lab being built: every change written before the next is taken. */
export class LabStateWriter {
  #state: LabState;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(
    private readonly path: string,
    state: LabState,
  ) {
    this.#state = state;
  }

  /** Writes the first state (the folder must exist). */
  static async create(dir: string, state: LabState): Promise<LabStateWriter> {
    const writer = new LabStateWriter(posix.join(dir, LAB_STATE_FILE), state);
    await writeFileAtomic(writer.path, encodeLabState(state));
    return writer;
  }

  /** The state as last changed. */
  get state(): LabState {
    return this.#state;
  }

  /** Whether {@link close} was called: the file is `down`'s now. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Stops writing (changes after this are dropped) once the changes taken are written. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
  }

  /** Changes the state and resolves once the file says so (at once, unchanged, after {@link close}). */
  update(change: (state: LabState) => LabState): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const next = this.#queue.then(async () => {
      this.#state = change(this.#state);
      await writeFileAtomic(this.path, encodeLabState(this.#state));
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }
}
