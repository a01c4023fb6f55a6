import { describe, expect, it } from 'vitest';

import { compileFlowFilters, type Flow, type FlowFilter, FlowFilterError } from '../../src/index.js';
import { makeFlow } from '../fixtures.js';

// The flows every filter below is tried on.
const FLOWS: Readonly<Record<string, Flow>> = {
  web: makeFlow(),
  dropped: makeFlow({
    uuid: 'f-2',
    verdict: 'DROPPED',
    dropReasonDesc: 'POLICY_DENY',
    IP: { source: '192.168.7.20', destination: '10.0.2.9', ipVersion: 'IPv4' },
    l4: { UDP: { sourcePort: 5353, destinationPort: 53 } },
    source: { ID: 0, identity: 2, labels: ['reserved:world'] },
    trafficDirection: 'INGRESS',
    ingressAllowedBy: [],
    ingressDeniedBy: [{ name: 'deny-dns', labels: [], revision: 1, kind: 'GlobalNetworkPolicy' }],
    decidedBy: {
      reason: 'rule',
      direction: 'ingress',
      policy: { name: 'deny-dns', labels: [], revision: 1, kind: 'GlobalNetworkPolicy' },
      action: 'deny',
      attribution: 'kernel',
      message: 'denied by GlobalNetworkPolicy deny-dns',
    },
  }),
  reply6: makeFlow({
    uuid: 'f-3',
    IP: { source: 'fd00::20', destination: 'fd00:0::10', ipVersion: 'IPv6' },
    l4: { ICMPv6: { type: 129, code: 0 } },
    source: { ID: 12, identity: 1002, namespace: 'prod', podName: 'api-7', labels: ['k8s:app=api', 'k8s:io.kubernetes.pod.namespace=prod'] },
    destination: { ID: 13, identity: 1003, namespace: 'prod', podName: 'db-0', labels: ['k8s:app=db'] },
    isReply: true,
    trafficDirection: 'EGRESS',
    nodeName: 'node-b.lab',
    ingressAllowedBy: [],
    decidedBy: {
      reason: 'isolated',
      direction: 'egress',
      isolatedBy: [{ name: 'lockdown', namespace: 'prod', labels: [], revision: 2, kind: 'NetworkPolicy' }],
      attribution: 'evaluated',
      message: 'isolated by prod/lockdown',
    },
  }),
  sctp: makeFlow({ uuid: 'f-4', l4: { SCTP: { sourcePort: 9, destinationPort: 3868 } }, verdict: 'AUDIT' }),
};

const NAMES = Object.keys(FLOWS);
const matching = (request: { whitelist?: FlowFilter[]; blacklist?: FlowFilter[] }): string[] => {
  const test = compileFlowFilters(request);
  return NAMES.filter((n) => test(FLOWS[n] as Flow));
};

describe('compileFlowFilters', () => {
  it.each<[string, FlowFilter[] | undefined, FlowFilter[] | undefined, string[]]>([
    ['no filters', undefined, undefined, ['web', 'dropped', 'reply6', 'sctp']],
    ['an empty filter matches everything', [{}], undefined, ['web', 'dropped', 'reply6', 'sctp']],
    ['an empty field is no constraint', [{ verdict: [] }], undefined, ['web', 'dropped', 'reply6', 'sctp']],
    ['exact source IP', [{ sourceIp: ['192.168.7.20'] }], undefined, ['dropped']],
    ['source CIDR', [{ sourceIp: ['10.0.0.0/16'] }], undefined, ['web', 'sctp']],
    ['IPv6 written differently', [{ destinationIp: ['fd00::10'] }], undefined, ['reply6']],
    ['IPv6 CIDR does not match IPv4', [{ sourceIp: ['::/0'] }], undefined, ['reply6']],
    ['any of two IPs', [{ sourceIp: ['192.168.7.20', 'fd00::20'] }], undefined, ['dropped', 'reply6']],
    ['namespace only', [{ sourcePod: ['prod/'] }], undefined, ['reply6']],
    ['pod prefix in a namespace', [{ destinationPod: ['prod/api-'] }], undefined, ['web', 'dropped', 'sctp']],
    ['pod prefix in any namespace', [{ destinationPod: ['db'] }], undefined, ['reply6']],
    ['pod prefix in another namespace', [{ sourcePod: ['kube-system/frontend'] }], undefined, []],
    ['label with source', [{ sourceLabel: ['k8s:app=frontend'] }], undefined, ['web', 'sctp']],
    ['label without source', [{ destinationLabel: ['app=db'] }], undefined, ['reply6']],
    ['label with another source', [{ sourceLabel: ['container:app=frontend'] }], undefined, []],
    ['reserved label by key', [{ sourceLabel: ['reserved:world'] }], undefined, ['dropped']],
    ['label in a set', [{ sourceLabel: ['app in (api, frontend)'] }], undefined, ['web', 'reply6', 'sctp']],
    ['label not in a set', [{ sourceLabel: ['app notin (api)'] }], undefined, ['web', 'dropped', 'sctp']],
    ['label not equal (absent counts)', [{ sourceLabel: ['app!=frontend'] }], undefined, ['dropped', 'reply6']],
    ['label absent', [{ sourceLabel: ['!app'] }], undefined, ['dropped']],
    ['two requirements, both needed', [{ sourceLabel: ['app=frontend,tier=web'] }], undefined, ['web', 'sctp']],
    ['two requirements, one fails', [{ sourceLabel: ['app=frontend,tier=db'] }], undefined, []],
    ['label key with dots and a namespace value', [{ sourceLabel: ['k8s:io.kubernetes.pod.namespace=prod'] }], undefined, ['reply6']],
    ['verdict', [{ verdict: ['DROPPED', 'AUDIT'] }], undefined, ['dropped', 'sctp']],
    ['drop reason', [{ dropReasonDesc: ['POLICY_DENY'] }], undefined, ['dropped']],
    ['drop reason a flow does not have', [{ dropReasonDesc: ['POLICY_DENIED'] }], undefined, []],
    ['destination port', [{ destinationPort: ['53', '8080'] }], undefined, ['web', 'dropped']],
    ['source port of SCTP', [{ sourcePort: ['9'] }], undefined, ['sctp']],
    ['ports never match ICMP', [{ destinationPort: ['0'] }], undefined, []],
    ['protocol tcp', [{ protocol: ['tcp'] }], undefined, ['web']],
    ['protocol case-insensitive', [{ protocol: ['UDP', 'Sctp'] }], undefined, ['dropped', 'sctp']],
    ['icmp means both versions', [{ protocol: ['icmp'] }], undefined, ['reply6']],
    ['icmpv4 is not ICMPv6', [{ protocol: ['icmpv4'] }], undefined, []],
    ['direction', [{ trafficDirection: ['EGRESS'] }], undefined, ['reply6']],
    ['node name exact', [{ nodeName: ['node-a'] }], undefined, ['web', 'dropped', 'sctp']],
    ['node name pattern', [{ nodeName: ['*.lab'] }], undefined, ['reply6']],
    ['node name pattern, prefix', [{ nodeName: ['node-*'] }], undefined, ['web', 'dropped', 'reply6', 'sctp']],
    ['dot is literal in a node pattern', [{ nodeName: ['node-b-lab'] }], undefined, []],
    ['reply', [{ reply: [true] }], undefined, ['reply6']],
    ['not reply', [{ reply: [false] }], undefined, ['web', 'dropped', 'sctp']],
    ['uuid', [{ uuid: ['f-2', 'f-4'] }], undefined, ['dropped', 'sctp']],
    ['policy by name (allowed-by)', [{ policy: ['allow-web'] }], undefined, ['web', 'sctp']],
    ['policy namespace/name', [{ policy: ['prod/allow-web'] }], undefined, ['web', 'sctp']],
    ['policy in another namespace', [{ policy: ['default/allow-web'] }], undefined, []],
    ['policy kind//name, cluster-scoped', [{ policy: ['GlobalNetworkPolicy//deny-dns'] }], undefined, ['dropped']],
    ['policy kind wrong', [{ policy: ['NetworkPolicy/prod/deny-dns'] }], undefined, []],
    ['isolating policy', [{ policy: ['NetworkPolicy/prod/lockdown'] }], undefined, ['reply6']],
    ['fields AND together', [{ verdict: ['FORWARDED'], protocol: ['tcp'], destinationPort: ['8080'] }], undefined, ['web']],
    ['fields AND, one fails', [{ verdict: ['DROPPED'], protocol: ['tcp'] }], undefined, []],
    ['whitelist filters OR together', [{ verdict: ['DROPPED'] }, { protocol: ['icmp'] }], undefined, ['dropped', 'reply6']],
    ['blacklist alone', undefined, [{ verdict: ['FORWARDED'] }], ['dropped', 'sctp']],
    ['whitelist minus blacklist', [{ sourceIp: ['10.0.0.0/8'] }], [{ protocol: ['sctp'] }], ['web']],
    ['blacklist filters OR together', undefined, [{ protocol: ['tcp'] }, { reply: [true] }], ['dropped', 'sctp']],
  ])('%s', (_what, whitelist, blacklist, expected) => {
    expect(matching({ ...(whitelist && { whitelist }), ...(blacklist && { blacklist }) })).toEqual(expected);
  });
});

describe('bad filters', () => {
  it.each<[unknown, string]>([
    [{ whitelist: [{ sourcePort: ['80', 'http'] }] }, 'whitelist[0].sourcePort[1]: "http" is not a port'],
    [{ whitelist: [{ destinationPort: ['65536'] }] }, 'whitelist[0].destinationPort[0]: "65536" is not a port'],
    [{ whitelist: [{ destinationPort: ['-1'] }] }, 'whitelist[0].destinationPort[0]: "-1" is not a port'],
    [{ whitelist: [{ destinationPort: [80] }] }, 'whitelist[0].destinationPort[0]: 80 is not a port'],
    [{ whitelist: [{}, { sourceIp: ['10.0.0.256'] }] }, 'whitelist[1].sourceIp[0]: "10.0.0.256" is not an IP address or CIDR prefix'],
    [{ blacklist: [{ destinationIp: ['10.0.0.0/33'] }] }, 'blacklist[0].destinationIp[0]: "10.0.0.0/33" is not an IP address or CIDR prefix'],
    [{ whitelist: [{ sourceIp: ['fe80::1%eth0'] }] }, 'whitelist[0].sourceIp[0]: "fe80::1%eth0" is not an IP address or CIDR prefix'],
    [{ whitelist: [{ sourcePod: ['/frontend'] }] }, 'whitelist[0].sourcePod[0]: "/frontend" is not a pod'],
    [{ whitelist: [{ destinationPod: ['a/b/c'] }] }, 'whitelist[0].destinationPod[0]: "a/b/c" is not a pod'],
    [{ whitelist: [{ sourcePod: [''] }] }, 'whitelist[0].sourcePod[0]: "" is not a pod'],
    [{ whitelist: [{ sourceLabel: ['app in (a,b'] }] }, 'whitelist[0].sourceLabel[0]: "app in (a,b" is not a label selector: a "(" without ")"'],
    [{ whitelist: [{ sourceLabel: ['app=a b'] }] }, 'whitelist[0].sourceLabel[0]: "app=a b" is not a label selector: "a b" is not a label value'],
    [{ whitelist: [{ destinationLabel: ['app=x,'] }] }, 'whitelist[0].destinationLabel[0]: "app=x," is not a label selector: an empty requirement'],
    [{ whitelist: [{ destinationLabel: ['-app'] }] }, 'whitelist[0].destinationLabel[0]: "-app" is not a label selector: "-app" is not a label key'],
    [{ whitelist: [{ verdict: ['DENIED'] }] }, 'whitelist[0].verdict[0]: "DENIED" is not a verdict (one of VERDICT_UNKNOWN, FORWARDED'],
    [{ whitelist: [{ dropReasonDesc: ['POLICY'] }] }, 'whitelist[0].dropReasonDesc[0]: "POLICY" is not a drop reason'],
    [{ whitelist: [{ trafficDirection: ['ingress'] }] }, 'whitelist[0].trafficDirection[0]: "ingress" is not a traffic direction'],
    [{ whitelist: [{ protocol: ['https'] }] }, 'whitelist[0].protocol[0]: "https" is not a protocol (one of tcp, udp, sctp, icmp, icmpv4, icmpv6, http)'],
    [{ whitelist: [{ httpStatusCode: ['4xx'] }] }, 'whitelist[0].httpStatusCode[0]: "4xx" is not an HTTP status code filter (a code from 100 to 599, `404`, or a prefix and `+`: `4+`, `40+`)'],
    [{ whitelist: [{ httpStatusCode: ['404', '600'] }] }, 'whitelist[0].httpStatusCode[1]: "600" is not an HTTP status code filter'],
    [{ whitelist: [{ httpStatusCode: ['404+'] }] }, 'whitelist[0].httpStatusCode[0]: "404+" is not an HTTP status code filter'],
    [{ whitelist: [{ httpStatusCode: ['x404y'] }] }, 'whitelist[0].httpStatusCode[0]: "x404y" is not an HTTP status code filter'],
    [{ whitelist: [{ httpStatusCode: [404] }] }, 'whitelist[0].httpStatusCode[0]: 404 is not an HTTP status code filter'],
    [{ whitelist: [{ httpMethod: [''] }] }, 'whitelist[0].httpMethod[0]: "" is not an HTTP method'],
    [{ whitelist: [{ httpPath: ['/api/(v1'] }] }, 'whitelist[0].httpPath[0]: "/api/(v1" is not a regular expression Twill accepts: missing \')\' at offset 5'],
    [{ whitelist: [{ httpPath: ['(?=x)'] }] }, 'whitelist[0].httpPath[0]: "(?=x)" is not a regular expression Twill accepts: flags, named groups and lookaround are not supported'],
    [{ blacklist: [{ httpUrl: ['(a)\\1'] }] }, 'blacklist[0].httpUrl[0]: "(a)\\\\1" is not a regular expression Twill accepts: \\1 is not supported'],
    [{ whitelist: [{ httpPath: ['a**'] }] }, 'whitelist[0].httpPath[0]: "a**" is not a regular expression Twill accepts: a repetition of a repetition is refused (as RE2 does) at offset 0'],
    [{ whitelist: [{ nodeName: ['cluster/node-a'] }] }, 'whitelist[0].nodeName[0]: "cluster/node-a" is not a node name pattern (cluster names are not supported)'],
    [{ whitelist: [{ nodeName: ['node a'] }] }, 'whitelist[0].nodeName[0]: "node a" is not a node name pattern'],
    [{ whitelist: [{ reply: ['yes'] }] }, 'whitelist[0].reply[0]: "yes" is not true or false'],
    [{ whitelist: [{ uuid: [''] }] }, 'whitelist[0].uuid[0]: "" is not a flow uuid'],
    [{ whitelist: [{ policy: ['a/b/c/d'] }] }, 'whitelist[0].policy[0]: "a/b/c/d" is not a policy'],
    [{ whitelist: [{ policy: ['prod/'] }] }, 'whitelist[0].policy[0]: "prod/" is not a policy'],
    [{ whitelist: [{ sourcePods: ['a/'] }] }, 'whitelist[0].sourcePods: is not a flow filter field'],
    [{ whitelist: [{ sourceIp: '10.0.0.1' }] }, 'whitelist[0].sourceIp: "10.0.0.1" is not a list'],
    [{ whitelist: [null] }, 'whitelist[0]: null is not a flow filter'],
    [{ blacklist: {} }, 'blacklist: [object Object] is not a list of filters'],
  ])('%j', (request, message) => {
    const compile = (): unknown => compileFlowFilters(request as never);
    expect(compile).toThrow(FlowFilterError);
    expect(compile).toThrow(message);
    try {
      compile();
    } catch (e) {
      expect((e as FlowFilterError).field).toBe(message.slice(0, message.indexOf(':')));
    }
  });
});

describe('node name patterns', () => {
  const nodes = (pattern: string, names: string[]): string[] => {
    const test = compileFlowFilters({ whitelist: [{ nodeName: [pattern] }] });
    return names.filter((nodeName) => test(makeFlow({ nodeName })));
  };

  it('match stars anywhere, repeated stars as one', () => {
    const names = ['node-a', 'node-b.lab', 'a', 'lab', 'node-a.lab.x'];
    expect(nodes('*', names)).toEqual(names);
    expect(nodes('**a', names)).toEqual(['node-a', 'a']);
    expect(nodes('**x**', names)).toEqual(['node-a.lab.x']);
    expect(nodes('node*lab', names)).toEqual(['node-b.lab']);
    expect(nodes('*-*.*', names)).toEqual(['node-b.lab', 'node-a.lab.x']);
    expect(nodes('a*a', ['a', 'aa', 'aba'])).toEqual(['aa', 'aba']);
  });

  it('a pattern of many stars against a name it does not match returns (no backtracking RegExp)', () => {
    // With `*` as `.*` of a RegExp this took 18 s per flow (the event loop frozen).
    const name = 'n'.repeat(200);
    expect(nodes(`${'*'.repeat(24)}x`, [name])).toEqual([]);
    expect(nodes(`${'*n'.repeat(100)}*x`, [name])).toEqual([]);
  });

  it('refuses a pattern longer than 253 characters', () => {
    expect(() => compileFlowFilters({ whitelist: [{ nodeName: ['*'.repeat(254)] }] })).toThrow(
      'whitelist[0].nodeName[0]: a node name pattern of 254 characters is longer than 253',
    );
  });
});

describe('HTTP filters', () => {
  const http = (code: number, method: string, url: string): Flow =>
    makeFlow({ uuid: `${method} ${url} ${code}`, Type: 'L7', l7: { type: code === 0 ? 'REQUEST' : 'RESPONSE', latencyNs: 1_200_000, http: { code, method, url, protocol: 'HTTP/1.1', headers: [] } } });
  const L7: readonly Flow[] = [
    http(200, 'GET', 'http://api.prod:8080/api/v1/users?limit=1'),
    http(403, 'POST', '/api/v1/users'),
    http(404, 'get', 'http://api.prod/healthz'),
    http(0, 'DELETE', '/api/v2/x%20y'),
    http(502, 'GET', '/bad%zzpath'),
    makeFlow({ uuid: 'l3' }),
  ];
  const uuids = (filter: FlowFilter): string[] => {
    const test = compileFlowFilters({ whitelist: [filter] });
    return L7.filter((f) => test(f)).map((f) => f.uuid);
  };

  it("matches status codes as Hubble does: exact, a prefix with `+`, none without a status", () => {
    expect(uuids({ httpStatusCode: ['404'] })).toEqual(['get http://api.prod/healthz 404']);
    expect(uuids({ httpStatusCode: ['4+'] })).toEqual(['POST /api/v1/users 403', 'get http://api.prod/healthz 404']);
    expect(uuids({ httpStatusCode: ['40+', '5+'] })).toEqual(['POST /api/v1/users 403', 'get http://api.prod/healthz 404', 'GET /bad%zzpath 502']);
    expect(uuids({ httpStatusCode: ['2+'] })).toEqual(['GET http://api.prod:8080/api/v1/users?limit=1 200']);
    expect(uuids({ httpStatusCode: ['1+'] })).toEqual([]);
  });

  it('matches methods case-insensitively', () => {
    expect(uuids({ httpMethod: ['GET'] })).toEqual(['GET http://api.prod:8080/api/v1/users?limit=1 200', 'get http://api.prod/healthz 404', 'GET /bad%zzpath 502']);
    expect(uuids({ httpMethod: ['post', 'delete'] })).toEqual(['POST /api/v1/users 403', 'DELETE /api/v2/x%20y 0']);
  });

  it("searches the URL's decoded path without its query, absolute or not; a bad escape matches nothing", () => {
    expect(uuids({ httpPath: ['/api/.*'] })).toEqual(['GET http://api.prod:8080/api/v1/users?limit=1 200', 'POST /api/v1/users 403', 'DELETE /api/v2/x%20y 0']);
    expect(uuids({ httpPath: ['^/api/v1/users$'] })).toEqual(['GET http://api.prod:8080/api/v1/users?limit=1 200', 'POST /api/v1/users 403']);
    expect(uuids({ httpPath: ['users'] })).toHaveLength(2);
    expect(uuids({ httpPath: ['limit'] })).toEqual([]);
    expect(uuids({ httpPath: ['x y$'] })).toEqual(['DELETE /api/v2/x%20y 0']);
    expect(uuids({ httpPath: ['bad'] })).toEqual([]);
    expect(uuids({ httpPath: ['^/healthz$|^/readyz$'] })).toEqual(['get http://api.prod/healthz 404']);
  });

  it('searches the whole URL with httpUrl', () => {
    expect(uuids({ httpUrl: ['^http://api\\.prod:8080/'] })).toEqual(['GET http://api.prod:8080/api/v1/users?limit=1 200']);
    expect(uuids({ httpUrl: ['limit=[0-9]+'] })).toEqual(['GET http://api.prod:8080/api/v1/users?limit=1 200']);
    expect(uuids({ httpUrl: ['%20'] })).toEqual(['DELETE /api/v2/x%20y 0']);
  });

  it('ANDs HTTP fields with the others, and `protocol: http` selects flows with HTTP fields', () => {
    expect(uuids({ httpMethod: ['GET'], httpPath: ['^/api/'], httpStatusCode: ['2+'] })).toEqual(['GET http://api.prod:8080/api/v1/users?limit=1 200']);
    expect(uuids({ httpMethod: ['POST'], httpStatusCode: ['2+'] })).toEqual([]);
    expect(uuids({ protocol: ['http'] })).toHaveLength(5);
    expect(uuids({ protocol: ['HTTP', 'tcp'] })).toHaveLength(6);
    expect(uuids({ protocol: ['udp'] })).toEqual([]);
  });
});
