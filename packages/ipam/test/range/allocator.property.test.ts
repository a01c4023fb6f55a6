import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { MemoryStore, parseRangeIpamConfig, RangeAllocator, RangeExhaustedError } from '@twill/ipam';

// Random sequences of allocate and release against a small dual-stack network: the
// model is a map attachment -> addresses. Checked after every step: no address is held
// twice, the store holds exactly what the model says (nothing lost, nothing leaked), and
// exhaustion happens only when the IPv4 set is really full.
const config = parseRangeIpamConfig({
  name: 'prop',
  cniVersion: '1.1.0',
  ipam: { ranges: [[{ subnet: '10.0.0.0/29' }, { subnet: '10.0.1.0/30', gateway: '10.0.1.2' }], [{ subnet: 'fd00::/124' }]] },
});
// 10.0.0.2-6 and 10.0.1.1 (gateway .2 skipped): 6 IPv4 addresses.
const V4_CAPACITY = 6;

const command = fc.oneof(
  fc.record({ op: fc.constant('allocate' as const), id: fc.integer({ min: 0, max: 9 }), ifName: fc.constantFrom('eth0', 'eth1') }),
  fc.record({ op: fc.constant('release' as const), id: fc.integer({ min: 0, max: 9 }), ifName: fc.constantFrom('eth0', 'eth1') }),
);

describe('RangeAllocator properties', () => {
  it('never hands out an address twice and never loses one', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 60 }), async (commands) => {
        const store = new MemoryStore();
        const allocator = new RangeAllocator({ config, store });
        const model = new Map<string, readonly string[]>();
        for (const { op, id, ifName } of commands) {
          const attachment = `c${id}/${ifName}`;
          const request = { containerId: `c${id}`, ifName };
          if (op === 'allocate') {
            const held = model.size;
            try {
              const got = await allocator.allocate(request);
              expect(model.has(attachment)).toBe(false);
              model.set(attachment, got.map((a) => a.address.split('/')[0] ?? ''));
            } catch (error) {
              if (model.has(attachment)) continue; // duplicate ADD refused: fine
              expect(error).toBeInstanceOf(RangeExhaustedError);
              expect(held).toBe(V4_CAPACITY);
            }
          } else {
            const released = await allocator.release(request);
            expect([...released].sort()).toEqual([...(model.get(attachment) ?? [])].sort());
            model.delete(attachment);
          }
          const all = [...model.values()].flat();
          expect(new Set(all).size).toBe(all.length);
          const stored = (await allocator.held()).map((h) => h.address).sort();
          expect(stored).toEqual([...all].sort());
        }
      }),
      { numRuns: 150 },
    );
  });
});
