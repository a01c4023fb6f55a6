import { describe, expect, it } from 'vitest';

import { compileFlowFilter, NO_FILTER } from '../../../src/app/model/filters.js';
import { compileHttpPath, compileHttpStatus, describeRequest, formatLatency, requestTarget, urlPath } from '../../../src/app/model/http.js';
import { type UiFlow } from '../../../src/app/model/types.js';
import { flow } from './fixtures.js';

const request = (id: string, method: string, url: string, code: number, verdict = 'FORWARDED'): UiFlow =>
  flow({ id, verdict, from: { namespace: 'default', pod: 'frontend' }, to: { namespace: 'default', pod: 'api' }, destinationPort: 8080, l7: { type: code === 0 ? 'REQUEST' : 'RESPONSE', latencyNs: 1_234_567, http: { code, method, url, protocol: 'HTTP/1.1' } } });

const sample = (): UiFlow[] => [
  request('get-users', 'GET', 'http://10.244.0.3:8080/api/v1/users?limit=5', 200),
  request('post-users', 'POST', 'http://10.244.0.3:8080/api/v1/users', 403, 'DROPPED'),
  request('admin', 'get', '/admin', 403, 'DROPPED'),
  request('missing', 'GET', '/api/v1/nothing%20here', 404),
  request('closed', 'GET', '/slow', 0),
  request('redirect', 'GET', '/old', 301),
  flow({ id: 'l4', destinationPort: 8080 }),
];

const matching = (filter: Partial<typeof NO_FILTER>) => {
  const compiled = compileFlowFilter({ ...NO_FILTER, ...filter });
  if (!compiled.ok) throw new Error(compiled.message);
  return sample().filter(compiled.matches).map((f) => f.id);
};

const problem = (filter: Partial<typeof NO_FILTER>) => {
  const compiled = compileFlowFilter({ ...NO_FILTER, ...filter });
  return compiled.ok ? undefined : { field: compiled.field, message: compiled.message };
};

describe('the HTTP filters (twill observe --http-status, --http-method, --http-path)', () => {
  it('reads a status as a code or a prefix and +; a request that got no status matches none', () => {
    expect(matching({ httpStatus: '403' })).toEqual(['post-users', 'admin']);
    expect(matching({ httpStatus: '4+' })).toEqual(['post-users', 'admin', 'missing']);
    expect(matching({ httpStatus: '40+' })).toEqual(['post-users', 'admin', 'missing']);
    expect(matching({ httpStatus: '2+' })).toEqual(['get-users']);
    expect(matching({ httpStatus: '30+' })).toEqual(['redirect']);
    expect(matching({ httpStatus: ' 200 ' })).toEqual(['get-users']);
  });

  it('refuses a status that is not 100 to 599 or a prefix of one or two digits, naming the field', () => {
    for (const bad of ['600', '99', '4', '4xx', '403+', '+', '0', '1000']) {
      expect(problem({ httpStatus: bad }), bad).toEqual({ field: 'httpStatus', message: 'HTTP status must be a code from 100 to 599 (404) or a prefix and + (4+, 40+)' });
    }
  });

  it('matches a method ignoring case, never an L3/L4 flow', () => {
    expect(matching({ httpMethod: 'GET' })).toEqual(['get-users', 'admin', 'missing', 'closed', 'redirect']);
    expect(matching({ httpMethod: 'post' })).toEqual(['post-users']);
    expect(problem({ httpMethod: 'GE T' })?.field).toBe('httpMethod');
  });

  it("searches the path regex (unanchored) in the URL's decoded path, without host and query", () => {
    expect(matching({ httpPath: '/api/v1/' })).toEqual(['get-users', 'post-users', 'missing']);
    expect(matching({ httpPath: '^/api/v1/users$' })).toEqual(['get-users', 'post-users']);
    expect(matching({ httpPath: 'nothing here' })).toEqual(['missing']);
    // The host and the query are not the path.
    expect(matching({ httpPath: '10\\.244' })).toEqual([]);
    expect(matching({ httpPath: 'limit' })).toEqual([]);
    expect(matching({ httpPath: 'adm|old' })).toEqual(['admin', 'redirect']);
  });

  it("refuses what twill observe's matcher refuses, by name, and a pattern that does not parse", () => {
    expect(problem({ httpPath: '(?i)admin' })).toEqual({ field: 'httpPath', message: 'HTTP path: flags, named groups and lookaround are not supported (only (...) and (?:...)) (at offset 0)' });
    expect(problem({ httpPath: '/a(?=b)' })?.message).toContain('lookaround are not supported');
    expect(problem({ httpPath: '(a)\\1' })).toEqual({ field: 'httpPath', message: 'HTTP path: word boundaries, back references, \\p and hex escapes are not supported (at offset 3)' });
    expect(problem({ httpPath: '[[:alpha:]]' })?.message).toContain('POSIX classes');
    expect(problem({ httpPath: '/api(' })?.message).toMatch(/^HTTP path is not a regular expression: /u);
    expect(compileHttpPath('(?:a|b)+').ok).toBe(true);
  });

  it('combines with the other filters (AND), and protocol http is the L7 flows', () => {
    expect(matching({ httpMethod: 'GET', httpStatus: '4+' })).toEqual(['admin', 'missing']);
    expect(matching({ verdict: 'DROPPED', httpPath: 'users' })).toEqual(['post-users']);
    expect(matching({ protocol: 'http' })).toEqual(['get-users', 'post-users', 'admin', 'missing', 'closed', 'redirect']);
    // An L7 request is TCP too, as in Hubble.
    expect(matching({ protocol: 'tcp' })).toHaveLength(7);
  });

  it('reads a URL path as Go does: no scheme, authority, query or fragment, percent-decoded; undefined when it cannot', () => {
    expect(urlPath('http://api:8080/a%2Fb/c?x=1#top')).toBe('/a/b/c');
    expect(urlPath('/x%20y')).toBe('/x y');
    expect(urlPath('http://api')).toBe('/');
    expect(urlPath('/bad%zz')).toBeUndefined();
    expect(urlPath('relative')).toBeUndefined();
    expect(urlPath('/%ff')).toBe('/%ff');
    expect(compileHttpStatus('404').ok).toBe(true);
  });
});

describe('an L7 flow in the table', () => {
  it('is its method and request target, then the status and latency', () => {
    const [getUsers, post, , , closed] = sample();
    expect(describeRequest(getUsers!)).toEqual({ request: 'GET /api/v1/users?limit=5', outcome: '200 (1.2 ms)' });
    expect(describeRequest(post!)).toEqual({ request: 'POST /api/v1/users', outcome: '403 (1.2 ms)' });
    expect(describeRequest(closed!)?.outcome).toBe('no status (1.2 ms)');
    expect(describeRequest(flow())).toBeUndefined();
    expect(requestTarget('https://h')).toBe('/');
  });

  it("prints latencies as twill observe does", () => {
    expect(formatLatency(850_000)).toBe('850 µs');
    expect(formatLatency(1_234_567)).toBe('1.2 ms');
    expect(formatLatency(35_400_000)).toBe('35 ms');
    expect(formatLatency(2_100_000_000)).toBe('2.1 s');
  });
});
