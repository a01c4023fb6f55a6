import { describe, expect, it } from 'vitest';

import { hostInterfaceName } from '../../src/plugin/names.js';

describe('hostInterfaceName', () => {
  it('is tw and 13 hex digits: 15 characters, the most IFNAMSIZ allows', () => {
    expect(hostInterfaceName('abc', 'eth0')).toMatch(/^tw[0-9a-f]{13}$/);
  });

  it('is the same for one attachment and differs between attachments', () => {
    expect(hostInterfaceName('abc', 'eth0')).toBe(hostInterfaceName('abc', 'eth0'));
    expect(hostInterfaceName('abc', 'eth1')).not.toBe(hostInterfaceName('abc', 'eth0'));
    expect(hostInterfaceName('abd', 'eth0')).not.toBe(hostInterfaceName('abc', 'eth0'));
    // The separator keeps ("ab", "ceth0") apart from ("abc", "eth0").
    expect(hostInterfaceName('ab', 'ceth0')).not.toBe(hostInterfaceName('abc', 'eth0'));
  });
});
