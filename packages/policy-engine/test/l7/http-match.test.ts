// The HTTP rule matcher: Cilium and Calico rule forms, the seed's l7-api-policy end to
// end from YAML through evaluate, and pattern errors reported at compile time with the
// field they are in.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { FieldError, type HttpRule, type L7Rules, type PolicyRef } from '@twill/policy-engine';

import { compileHttpMatcher, compileHttpPattern, l7RuleSetsOf, quoteHttpPattern, type HttpRequestFacts } from '../../src/l7/http-match.js';
import { clusterWith, flow } from '../calico/cluster.js';

const req = (method: string, path: string, extra: Partial<HttpRequestFacts> = {}): HttpRequestFacts => ({ method, path, headers: {}, ...extra });
const http = (...rules: HttpRule[]): L7Rules => ({ kind: 'http', rules });
const cnp: PolicyRef = { dialect: 'cilium', kind: 'CiliumNetworkPolicy', namespace: 'default', name: 'l7-api-policy' };

const SEED_YAML = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: l7-api-policy, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: frontend}}]
    toPorts:
    - ports: [{port: "8080", protocol: TCP}]
      rules:
        http:
        - method: "GET"
          path: "/api/v1/.*"
`;

describe('the seed l7-api-policy, from YAML through evaluate to the matcher', () => {
  const check = clusterWith(SEED_YAML);
  const verdict = check(flow('default/frontend', 'default/api', 8080));
  const matcher = compileHttpMatcher(l7RuleSetsOf(verdict));

  it('allows GET /api/v1/users by the policy rule, naming it', () => {
    expect(verdict.allowed).toBe(true);
    const decision = matcher.match(req('GET', '/api/v1/users'));
    expect(decision).toEqual({
      allowed: true,
      by: [{ set: 0, rule: 0, direction: 'ingress', policy: cnp, label: 'CiliumNetworkPolicy default/l7-api-policy spec.ingress[0].toPorts[0] http[0]' }],
    });
  });

  it.each([
    ['POST', '/api/v1/users'],
    ['GET', '/admin'],
    ['GET', '/api/v1'],
    ['get', '/api/v1/users'],
    ['GET', '/x/api/v1/users'],
  ])('denies %s %s and says why', (method, path) => {
    expect(matcher.match(req(method, path))).toEqual({
      allowed: false,
      direction: 'ingress',
      policies: [cnp],
      why: `no HTTP rule of CiliumNetworkPolicy default/l7-api-policy (ingress) allows ${method} ${path}`,
    });
  });

  it('matches the query string as part of the path, as Envoy matches :path', () => {
    expect(matcher.match(req('GET', '/api/v1/users?limit=1')).allowed).toBe(true);
  });

  it('has no L7 restriction for a plain L3/L4 allow', () => {
    const plain = compileHttpMatcher([]);
    expect(plain.restricts).toBe(false);
    expect(plain.match(req('DELETE', '/anything'))).toEqual({ allowed: true, by: [] });
  });
});

describe('Cilium rules', () => {
  it.each([
    // rule, request, allowed
    [{ method: 'GET|HEAD' }, req('HEAD', '/'), true],
    [{ method: 'GET|HEAD' }, req('GETS', '/'), false],
    [{ path: { kind: 'regex', value: '/users/[0-9]+' } }, req('PUT', '/users/12'), true],
    [{ path: { kind: 'regex', value: '/users/[0-9]+' } }, req('PUT', '/users/12/x'), false],
    [{ host: 'api\\.example\\.com' }, req('GET', '/', { host: 'api.example.com' }), true],
    [{ host: 'api\\.example\\.com' }, req('GET', '/', { host: 'api.example.com.evil' }), false],
    [{ host: 'api\\.example\\.com(:[0-9]+)?' }, req('GET', '/', { host: 'api.example.com:8080' }), true],
    [{ host: '.*' }, req('GET', '/'), false], // a host rule needs a host
    [{ headers: [{ name: 'X-Token' }] }, req('GET', '/', { headers: { 'x-token': 'a' } }), true],
    [{ headers: [{ name: 'x-token' }] }, req('GET', '/', { headers: { 'X-TOKEN': 'a' } }), true],
    [{ headers: [{ name: 'X-Token' }] }, req('GET', '/'), false],
    [{ headers: [{ name: 'X-Token', value: 'secret' }] }, req('GET', '/', { headers: { 'x-token': 'secret' } }), true],
    [{ headers: [{ name: 'X-Token', value: 'secret' }] }, req('GET', '/', { headers: { 'x-token': 'secret2' } }), false],
    [{ headers: [{ name: 'X-Token', value: 'b' }] }, req('GET', '/', { headers: { 'x-token': ['a', 'b'] } }), true],
    // every field must match
    [{ method: 'GET', path: { kind: 'regex', value: '/a' }, headers: [{ name: 'x' }] }, req('GET', '/a', { headers: { x: '' } }), true],
    [{ method: 'GET', path: { kind: 'regex', value: '/a' }, headers: [{ name: 'x' }] }, req('GET', '/a'), false],
    [{}, req('PATCH', '/whatever'), true], // an empty rule allows every request
  ] as [HttpRule, HttpRequestFacts, boolean][])('%j on %j → %s', (rule, request, allowed) => {
    expect(compileHttpMatcher([http(rule)]).match(request).allowed).toBe(allowed);
  });

  it('allows when ANY rule matches, and names that rule', () => {
    const matcher = compileHttpMatcher([http({ method: 'POST' }, { method: 'GET' })]);
    expect(matcher.match(req('GET', '/'))).toEqual({ allowed: true, by: [{ set: 0, rule: 1, label: 'l7[0] http[1]' }] });
  });
});

describe('Calico rules', () => {
  const check = clusterWith(`apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: p, namespace: production}
spec:
  selector: app == "api-server"
  ingress:
  - action: Allow
    protocol: TCP
    http:
      methods: [GET, HEAD]
      paths: [{exact: /healthz}, {prefix: /api/}]
`);
  const matcher = compileHttpMatcher(l7RuleSetsOf(check(flow('production/frontend', 'production/api-server', 8080))));

  it.each([
    ['GET', '/healthz', true],
    ['HEAD', '/healthz?verbose=1', true], // paths are matched without the query string
    ['GET', '/healthz/x', false],
    ['GET', '/api/', true],
    ['GET', '/api/v2/things', true],
    ['GET', '/api', false],
    ['POST', '/api/x', false],
    ['G.T', '/api/x', false],
  ])('%s %s → %s', (method, path, allowed) => {
    expect(matcher.match(req(method, path)).allowed).toBe(allowed);
  });

  it('names the Calico policy in a denial', () => {
    const decision = matcher.match(req('DELETE', '/api/x'));
    expect(decision.allowed === false && decision.why).toBe('no HTTP rule of NetworkPolicy production/p (ingress) allows DELETE /api/x');
  });
});

describe('several enforcement points and rule kinds', () => {
  it('needs every direction to allow', () => {
    const matcher = compileHttpMatcher([
      { direction: 'egress', rules: http({ method: 'GET' }) },
      { direction: 'ingress', rules: http({ path: { kind: 'prefix', value: '/public/' } }) },
    ]);
    expect(matcher.match(req('GET', '/public/a')).allowed).toBe(true);
    expect(matcher.match(req('POST', '/public/a'))).toMatchObject({ allowed: false, direction: 'egress' });
    expect(matcher.match(req('GET', '/private'))).toMatchObject({ allowed: false, direction: 'ingress' });
  });

  it('adds up the sets of one direction', () => {
    const matcher = compileHttpMatcher([http({ method: 'GET' }), http({ method: 'PUT' })]);
    expect(matcher.match(req('PUT', '/'))).toMatchObject({ allowed: true, by: [{ set: 1, rule: 0 }] });
  });

  it('fails closed on rules of another protocol', () => {
    const matcher = compileHttpMatcher([{ kind: 'opaque', parser: 'kafka', rules: [{ topic: 't' }] }]);
    expect(matcher.match(req('GET', '/'))).toEqual({ allowed: false, policies: [], why: 'no HTTP rule allows GET /; its kafka rules do not apply to HTTP' });
  });
});

describe('pattern errors, at compile time, naming the field', () => {
  const withOrigin = (rule: HttpRule) => [{ rules: http({ method: 'GET' }, rule), policy: cnp, origin: { path: 'spec.ingress[2]', detail: 'toPorts[1]' } }];

  // Patterns RE2 refuses or that a JavaScript engine would read differently.
  it.each([
    [{ path: { kind: 'regex', value: '/a/(?=b)' } }, 'path', 'lookahead is not RE2 syntax at offset 3'],
    [{ path: { kind: 'regex', value: '/(x)\\1' } }, 'path', 'backreference \\1 is not RE2 syntax (RE2 has no backreferences) at offset 4'],
    [{ path: { kind: 'regex', value: '/a++' } }, 'path', 'possessive repetition is not RE2 syntax at offset 3'],
    [{ path: { kind: 'regex', value: '/a\\Z' } }, 'path', '\\Z is not RE2 syntax'],
    [{ path: { kind: 'regex', value: '/(a' } }, 'path', 'missing closing ) at offset 1'],
    [{ method: 'GET(' }, 'method', 'missing closing ) at offset 3'],
    [{ host: '(?<!x)a' }, 'host', 'lookbehind is not RE2 syntax'],
    [{ host: '\\p{L}' }, 'host', 'Unicode classes'],
  ] as [HttpRule, string, string][])('%j', (rule, field, reason) => {
    const attempt = (): unknown => compileHttpMatcher(withOrigin(rule));
    expect(attempt).toThrow(FieldError);
    expect(attempt).toThrow(`spec.ingress[2].toPorts[1].rules.http[1].${field}: CiliumNetworkPolicy default/l7-api-policy: invalid RE2 pattern`);
    expect(attempt).toThrow(reason);
  });

  it('refuses a pattern too large to run in bounded time, with code unsupported', () => {
    try {
      compileHttpMatcher([http({ path: { kind: 'regex', value: '(/[a-z]{1000}){3}' } })]);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(FieldError);
      expect((error as FieldError).code).toBe('unsupported');
      expect((error as FieldError).path).toBe('l7[0].rules.http[0].path');
    }
  });
});

describe('properties', () => {
  it('a regex path rule never allows its literal path behind an extra prefix or suffix', () => {
    const segment = fc.stringMatching(/^[a-z0-9._~-]{1,10}$/);
    fc.assert(fc.property(segment, segment, (name, extra) => {
      const quoted = name.replace(/[.]/g, '\\.');
      const matcher = compileHttpMatcher([http({ path: { kind: 'regex', value: `/${quoted}` } })]);
      expect(matcher.match(req('GET', `/${name}`)).allowed).toBe(true);
      expect(matcher.match(req('GET', `/${extra}/${name}`)).allowed).toBe(false);
      expect(matcher.match(req('GET', `/${name}${extra}`)).allowed).toBe(false);
      expect(matcher.match(req('GET', `/${name}?${extra}`)).allowed).toBe(false);
    }));
  });
});

describe('quoteHttpPattern', () => {
  it('leaves an ordinary method name as it is: the same pattern', () => {
    expect(quoteHttpPattern('GET')).toBe('GET');
    expect(quoteHttpPattern('M-SEARCH')).toBe('M-SEARCH');
  });

  it('makes a method token with metacharacters match only itself', () => {
    expect(quoteHttpPattern('GET|POST')).toBe('GET\\|POST');
    const quoted = compileHttpPattern(quoteHttpPattern('A.B*'), 'method');
    expect(quoted.fullMatch('A.B*')).toBe(true);
    expect(quoted.fullMatch('AXBBB')).toBe(false);
  });

  it('gives, for any RFC 9110 token, a pattern matching exactly that token', () => {
    const tchar = fc.constantFrom(...'!#$%&\'*+-.^_`|~09AZaz'.split(''));
    fc.assert(fc.property(fc.string({ unit: tchar, minLength: 1, maxLength: 12 }), fc.string({ unit: tchar, minLength: 1, maxLength: 12 }), (token, other) => {
      const program = compileHttpPattern(quoteHttpPattern(token), 'method');
      expect(program.fullMatch(token)).toBe(true);
      expect(program.fullMatch(other)).toBe(other === token);
    }));
  });
});
