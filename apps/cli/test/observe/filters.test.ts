// twill observe's flags as the GetFlows request the observer gets (Hubble's semantics):
// one whitelist filter holding every flag, or two when a flag means either side.

import { describe, expect, it } from 'vitest';

import { UsageError } from '../../src/errors.js';
import { flowTimeOf, msOf, observeRequest } from '../../src/observe/filters.js';

const request = (options: Parameters<typeof observeRequest>[1]) => observeRequest('observe', options);

describe('observeRequest', () => {
  it('without flags: the newest 20 flows; following: only new ones', () => {
    expect(request({})).toEqual({ number: 20 });
    expect(request({ follow: true })).toEqual({ number: 0, follow: true });
    expect(request({ follow: true, last: 5 })).toEqual({ number: 5, follow: true });
  });

  it('--first takes the oldest; --since takes every flow since, unless --last says how many', () => {
    expect(request({ first: 3 })).toEqual({ number: 3, first: true });
    expect(request({ since: 1_764_324_000_250 })).toEqual({ since: { seconds: 1_764_324_000, nanos: 250_000_000 } });
    expect(request({ since: 1_764_324_000_000, last: 2 })).toEqual({ number: 2, since: { seconds: 1_764_324_000, nanos: 0 } });
  });

  it('directional flags: one filter holding all of them (AND), each flag\'s values as alternatives (OR)', () => {
    expect(request({ verdict: ['DROPPED', 'ERROR'], fromPod: ['x/a'], toIp: ['10.0.0.0/8'], protocol: ['tcp'], policy: ['default-deny'], node: ['node-1'] }).whitelist).toEqual([
      { verdict: ['DROPPED', 'ERROR'], sourcePod: ['x/a'], destinationIp: ['10.0.0.0/8'], protocol: ['tcp'], policy: ['default-deny'], nodeName: ['node-1'] },
    ]);
  });

  it('--pod, --port and --label mean either side: two filters, each with the other flags', () => {
    expect(request({ pod: ['x/a'], port: [80, 443], verdict: ['DROPPED'] }).whitelist).toEqual([
      { verdict: ['DROPPED'], sourcePod: ['x/a'], sourcePort: ['80', '443'] },
      { verdict: ['DROPPED'], destinationPod: ['x/a'], destinationPort: ['80', '443'] },
    ]);
    expect(request({ label: ['k8s:app=web'], toPod: ['y/'] }).whitelist).toEqual([
      { destinationPod: ['y/'], sourceLabel: ['k8s:app=web'] },
      { destinationPod: ['y/'], destinationLabel: ['k8s:app=web'] },
    ]);
  });

  it("--http-* flags become Hubble's HTTP filter fields, ANDed with the others", () => {
    expect(request({ httpMethod: ['GET'], httpPath: ['/api/.*'], httpStatus: ['403', '5+'], httpUrl: ['^http://a/'], verdict: ['DROPPED'] }).whitelist).toEqual([
      { verdict: ['DROPPED'], httpStatusCode: ['403', '5+'], httpMethod: ['GET'], httpPath: ['/api/.*'], httpUrl: ['^http://a/'] },
    ]);
    expect(request({ httpMethod: ['GET'], port: [8080] }).whitelist).toEqual([
      { httpMethod: ['GET'], sourcePort: ['8080'] },
      { httpMethod: ['GET'], destinationPort: ['8080'] },
    ]);
  });

  it('refuses a bad HTTP status or regular expression, naming the flag', () => {
    expect(() => request({ httpStatus: ['40x'] })).toThrow(new UsageError('observe', '--http-status', '"40x" is not an HTTP status code filter (a code from 100 to 599, `404`, or a prefix and `+`: `4+`, `40+`)'));
    expect(() => request({ httpPath: ['a('] })).toThrow(new UsageError('observe', '--http-path', '"a(" is not a regular expression Twill accepts: missing \')\' at offset 1'));
  });

  it('refuses flags that contradict each other, naming both', () => {
    expect(() => request({ pod: ['x/a'], toPod: ['y/b'] })).toThrow(new UsageError('observe', '--pod', 'cannot be used with --to-pod (--pod already means either side)'));
    expect(() => request({ first: 1, follow: true })).toThrow(UsageError);
  });

  it('times: milliseconds to a protobuf Timestamp and back', () => {
    expect(flowTimeOf(1_764_324_000_125)).toEqual({ seconds: 1_764_324_000, nanos: 125_000_000 });
    expect(msOf({ seconds: 1_764_324_000, nanos: 125_000_000 })).toBe(1_764_324_000_125);
  });
});
