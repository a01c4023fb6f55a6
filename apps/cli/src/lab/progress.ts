// `twill lab up`'s progress on stderr. On a terminal: a line per finished step with a
// mark and the time, and below it one status line naming the steps still running,
// rewritten in place. Piped: only the finished lines, plain, so logs stay readable.

import { type OutputStream } from '../io.js';
import { type Style } from '../output.js';
import { type LabIo, type LabProgress } from './ports.js';

const seconds = (ms: number | undefined): string => (ms === undefined ? '' : `${(ms / 1000).toFixed(1).padStart(5)} s`);

/** A LabIo writing `up`'s progress to `stream`. */
export function progressWriter(stream: OutputStream, style: Style): LabIo {
  const running: string[] = [];
  const tty = stream.isTTY;
  const clear = tty ? '\r\u001b[K' : '';
  const statusLine = (): string => (tty && running.length > 0 ? style.dim(`  … ${running.join(', ')}`) : '');
  return {
    progress(event: LabProgress): void {
      if (event.state === 'started') {
        running.push(event.step);
        if (tty) stream.write(`${clear}${statusLine()}`);
        return;
      }
      const at = running.indexOf(event.step);
      if (at >= 0) running.splice(at, 1);
      const mark = event.state === 'done' ? style.good(tty ? '✓' : 'ok') : style.bad(tty ? '✗' : 'FAILED');
      const detail = event.detail === undefined || event.detail === '' ? '' : style.dim(`  ${event.detail}`);
      stream.write(`${clear}${seconds(event.elapsedMs)}  ${mark} ${event.step}${detail}\n${statusLine()}`);
    },
  };
}
