// What every command's action receives.

import { type CliIo } from './io.js';
import { type Style } from './output.js';

/** The I/O ports, the output style and the command's own path (`policy simulate`). */
export interface CommandContext {
  readonly io: CliIo;
  readonly style: Style;
  readonly command: string;
}
