// `twill lab status` and `down` tell a recorded agent or BIRD from whatever holds its PID
// now: a process that runs, one that was killed, a record of another start.
import { spawn } from 'node:child_process';
import { once } from 'node:events';

import { describe, expect, it } from 'vitest';

import { processAlive, processStartTime } from '../../src/lab/sys/host.js';

describe('processAlive', () => {
  it('is true for a running process and false once it was killed, or when the start time is another process’s', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const pid = child.pid as number;
      const startTime = (await processStartTime(pid)) as string;
      expect(startTime).toMatch(/^\d+$/);
      expect(await processAlive({ pid, startTime, what: 'sleep' })).toBe(true);
      // Same PID, another start: not the recorded process.
      expect(await processAlive({ pid, startTime: String(Number(startTime) + 1), what: 'sleep' })).toBe(false);
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
      expect(await processAlive({ pid, startTime, what: 'sleep' })).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
