import { describe, expect, it } from 'vitest';

import { CniError } from '../../src/errors.js';
import { decodeNetworkConfig, decodeNetworkConfigList, decodeListPluginConfig } from '../../src/config/index.js';
import { BAD_CONFIGS, type BadConfigFormat } from './bad-configs.table.js';

const decoders: Record<BadConfigFormat, (input: string) => unknown> = {
  list: (input) => decodeNetworkConfigList(input),
  single: (input) => decodeNetworkConfig(input),
  plugin: (input) => decodeListPluginConfig(input),
};

describe('bad configurations', () => {
  it('has a corpus of at least 30', () => {
    expect(BAD_CONFIGS.length).toBeGreaterThanOrEqual(30);
    expect(new Set(BAD_CONFIGS.map((c) => c.name)).size).toBe(BAD_CONFIGS.length);
  });

  it.each(BAD_CONFIGS)('$name → code $code', ({ format, input, code, msg }) => {
    let thrown: unknown;
    try {
      decoders[format](input);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CniError);
    expect({ code: (thrown as CniError).code, msg: (thrown as CniError).msg }).toEqual({ code, msg });
  });

  it('refuses reserved keys with code 2 when asked', () => {
    const input = JSON.stringify({
      cniVersion: '1.1.0', name: 'a', plugins: [{ type: 'x' }, { type: 'y', 'cni.dev/valid-attachments': [] }],
    });
    expect(() => decodeNetworkConfigList(input)).not.toThrow();
    expect(() => decodeNetworkConfigList(input, { rejectReservedKeys: true })).toThrow(
      expect.objectContaining({ code: 2, msg: 'plugins[1]["cni.dev/valid-attachments"]: reserved for the runtime, must not be set in a configuration' }),
    );
  });
});
