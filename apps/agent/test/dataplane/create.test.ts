import { describe, expect, it } from 'vitest';

import { createDataplane, isDataplaneDriver, UnknownDataplaneError, type DataplaneOptions } from '../../src/dataplane/index.js';

describe('createDataplane', () => {
  it('refuses a driver name from an untyped config, naming it and the choices', async () => {
    const options = JSON.parse('{"driver":"iptables"}') as DataplaneOptions;
    const failure = createDataplane(options);
    await expect(failure).rejects.toBeInstanceOf(UnknownDataplaneError);
    await expect(failure).rejects.toThrow('unknown dataplane "iptables": one of nftables, ebpf');
  });

  it('knows the driver names', () => {
    expect(['nftables', 'ebpf', 'iptables', ''].map(isDataplaneDriver)).toEqual([true, true, false, false]);
  });
});
