import { describe, expect, it } from 'vitest';

import { edgeVerdict, EXTERNAL_NODE, FlowStore } from '../../../src/app/model/flow-store.js';
import { flow } from './fixtures.js';

describe('FlowStore', () => {
  it('keeps the newest flows up to its capacity, newest first', () => {
    const store = new FlowStore(3);
    store.add([flow({ id: '1' }), flow({ id: '2' }), flow({ id: '3' }), flow({ id: '4' })]);
    expect(store.size).toBe(3);
    expect(store.newest(10).map((f) => f.id)).toEqual(['4', '3', '2']);
    expect(store.newest(1).map((f) => f.id)).toEqual(['4']);
    expect(store.received).toBe(4);
  });

  it('counts edges over the kept flows: a denied flow makes its edge red until it is forgotten', () => {
    const store = new FlowStore(2);
    store.add([flow({ verdict: 'DROPPED' })]);
    expect(store.edges().map((e) => [e.key, edgeVerdict(e)])).toEqual([['x/a-1->y/b-1', 'denied']]);
    store.add([flow(), flow()]);
    expect(store.edges().map((e) => [e.key, e.forwarded, e.denied, edgeVerdict(e)])).toEqual([['x/a-1->y/b-1', 2, 0, 'allowed']]);
  });

  it("counts an L7 request the proxy denied as a denied flow of its edge; a 403 the server itself sent is not", () => {
    const l7 = (verdict: string, code: number) => flow({ verdict, destinationPort: 8080, l7: { type: 'RESPONSE', latencyNs: 1000, http: { code, method: 'POST', url: '/api/v1/users', protocol: 'HTTP/1.1' } } });
    const store = new FlowStore(10);
    // The connection itself reached the proxy (forwarded), then the request was refused.
    store.add([flow({ destinationPort: 8080 }), l7('DROPPED', 403)]);
    expect(store.edges().map((e) => [e.key, e.forwarded, e.denied, edgeVerdict(e)])).toEqual([['x/a-1->y/b-1', 1, 1, 'denied']]);
    const served = new FlowStore(10);
    served.add([l7('FORWARDED', 403)]);
    expect(served.edges().map((e) => edgeVerdict(e))).toEqual(['allowed']);
  });

  it('draws replies on the connection\'s edge and addresses of no pod on the external node', () => {
    const store = new FlowStore(10);
    store.add([flow({ reply: true }), flow({ from: { namespace: undefined, pod: undefined, ip: '203.0.113.7', label: 'reserved:world' } })]);
    expect(store.edges().map((e) => e.key)).toEqual([`${EXTERNAL_NODE}->y/b-1`, 'y/b-1->x/a-1']);
  });

  it('forgets edges whose flows are all forgotten, and counts lost flows', () => {
    const store = new FlowStore(1);
    store.add([flow({ to: { namespace: 'z', pod: 'c' } }), flow()]);
    expect(store.edges().map((e) => e.key)).toEqual(['x/a-1->y/b-1']);
    store.addLost(5);
    expect(store.lost).toBe(5);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new FlowStore(0)).toThrow('capacity must be a positive integer (got 0)');
  });
});
