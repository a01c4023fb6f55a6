import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { pinoLoggers } from '../../../src/plugin/sys/main.js';

describe('pinoLoggers', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('appends JSON lines to logFile at the configured level, one logger per level and file', async () => {
    dir = await mkdtemp(join(tmpdir(), 'twt-log-'));
    const logFile = join(dir, 'sub', 'twill.log');
    const loggers = pinoLoggers();
    const logger = loggers({ logLevel: 'warn', logFile });
    expect(loggers({ logLevel: 'warn', logFile })).toBe(logger);
    logger.info({ command: 'ADD' }, 'ADD done');
    logger.warn({ command: 'DEL', code: 3 }, 'DEL failed');
    const lines = (await readFile(logFile, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, name: 'twill', command: 'DEL', code: 3, msg: 'DEL failed' });
  });
});
