import { describe, expect, it } from 'vitest';

import { compileFlowFilter, NO_FILTER } from '../../../src/app/model/filters.js';
import { flow } from './fixtures.js';

const matching = (filter: Partial<typeof NO_FILTER>, flows = sample()) => {
  const compiled = compileFlowFilter({ ...NO_FILTER, ...filter });
  if (!compiled.ok) throw new Error(compiled.message);
  return flows.filter(compiled.matches).map((f) => f.id);
};

const sample = () => [
  flow({ id: 'web-to-db', from: { namespace: 'shop', pod: 'web-1' }, to: { namespace: 'shop', pod: 'db-0' }, destinationPort: 5432 }),
  flow({ id: 'denied', verdict: 'DROPPED', from: { namespace: 'dev', pod: 'tool' }, to: { namespace: 'shop', pod: 'db-0' }, destinationPort: 5432 }),
  flow({ id: 'dns', protocol: 'UDP', from: { namespace: 'shop', pod: 'web-1' }, to: { namespace: 'kube-system', pod: 'dns-0' }, sourcePort: 5353, destinationPort: 53 }),
  flow({ id: 'ping', protocol: 'ICMPv4', from: { namespace: 'default', pod: 'probe' }, to: { namespace: 'shop', pod: 'web-1' }, sourcePort: undefined, destinationPort: undefined }),
];

describe('compileFlowFilter (twill observe semantics)', () => {
  it('matches everything when empty', () => {
    expect(matching({})).toEqual(['web-to-db', 'denied', 'dns', 'ping']);
  });

  it('filters by verdict, ignoring case', () => {
    expect(matching({ verdict: 'dropped' })).toEqual(['denied']);
  });

  it('reads pods as namespace/ or namespace/pod-prefix, a bare name in default', () => {
    expect(matching({ fromPod: 'shop/' })).toEqual(['web-to-db', 'dns']);
    expect(matching({ fromPod: 'shop/we' })).toEqual(['web-to-db', 'dns']);
    expect(matching({ toPod: 'shop/db' })).toEqual(['web-to-db', 'denied']);
    expect(matching({ fromPod: 'probe' })).toEqual(['ping']);
  });

  it('matches a port on either side, and icmp for both ICMP versions', () => {
    expect(matching({ port: '5353' })).toEqual(['dns']);
    expect(matching({ port: '53' })).toEqual(['dns']);
    expect(matching({ protocol: 'icmp' })).toEqual(['ping']);
    expect(matching({ protocol: 'UDP' })).toEqual(['dns']);
  });

  it('narrows with every field given', () => {
    expect(matching({ toPod: 'shop/db-0', verdict: 'FORWARDED', port: '5432' })).toEqual(['web-to-db']);
  });

  it('names the field of a bad value', () => {
    expect(compileFlowFilter({ ...NO_FILTER, port: '70000' })).toEqual({ ok: false, field: 'port', message: 'port must be a number from 0 to 65535' });
    expect(compileFlowFilter({ ...NO_FILTER, protocol: 'gre' })).toMatchObject({ ok: false, field: 'protocol' });
    expect(compileFlowFilter({ ...NO_FILTER, verdict: 'LOST' })).toMatchObject({ ok: false, field: 'verdict' });
  });

  it('refuses a pod without a namespace (/ or /web), which would match nothing', () => {
    const message = 'a pod is NAMESPACE/ or NAMESPACE/POD-PREFIX';
    expect(compileFlowFilter({ ...NO_FILTER, fromPod: '/' })).toEqual({ ok: false, field: 'fromPod', message });
    expect(compileFlowFilter({ ...NO_FILTER, toPod: ' /web' })).toEqual({ ok: false, field: 'toPod', message });
  });
});
