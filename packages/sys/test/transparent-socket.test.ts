// openTransparentSocket, setSocketMark and socketMark refuse bad arguments before any
// system call, so these run without privileges.
import { describe, expect, it } from 'vitest';

import { openTransparentSocket, setSocketMark, socketMark, SysError } from '../src/index.js';

describe('transparent upstream sockets and marks: arguments', () => {
  it('refuses bad arguments before any call, naming the call and the field', () => {
    const bad: [() => unknown, RegExp][] = [
      [() => openTransparentSocket({ source: 'client' }), /openTransparentSocket: source "client" is not an IP address/],
      [() => openTransparentSocket({ source: 'fe80::1%lo' }), /openTransparentSocket: source "fe80::1%lo": scoped IPv6/],
      [() => openTransparentSocket({ source: '10.0.0.1', mark: -1 }), /openTransparentSocket: mark -1 is not an integer within 0\.\.4294967295/],
      [() => openTransparentSocket({ source: '10.0.0.1', mark: 2 ** 32 }), /openTransparentSocket: mark 4294967296 is not an integer/],
      [() => openTransparentSocket({ source: '10.0.0.1', mark: 1.5 }), /openTransparentSocket: mark 1.5 is not an integer/],
      [() => setSocketMark(-1, 1), /setSocketMark: fd -1 is not a file descriptor/],
      [() => setSocketMark(0, Number.NaN), /setSocketMark: mark NaN is not an integer/],
      [() => socketMark(1.5), /socketMark: fd 1.5 is not a file descriptor/],
    ];
    for (const [call, message] of bad) {
      expect(call).toThrowError(SysError);
      expect(call).toThrowError(message);
    }
  });
});
