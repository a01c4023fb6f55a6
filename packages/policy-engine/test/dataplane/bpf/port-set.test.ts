import { describe, expect, it } from 'vitest';

import { rangeToPrefixes } from '@twill/policy-engine';

import { intersectPorts, subtractPorts, takePorts, unionPorts } from '../../../src/dataplane/bpf/port-set.js';

describe('port ranges as prefixes', () => {
  it.each([
    // [first, last, the prefixes as value/bits]
    [80, 80, ['80/16']],
    [0, 65535, ['0/0']],
    [80, 81, ['80/15']],
    [80, 443, ['80/12', '96/11', '128/9', '256/9', '384/11', '416/12', '432/13', '440/14']],
    [1024, 65535, ['1024/6', '2048/5', '4096/4', '8192/3', '16384/2', '32768/1']],
    [65535, 65535, ['65535/16']],
    [1, 6, ['1/16', '2/15', '4/15', '6/16']],
  ])('%i..%i', (first, last, expected) => {
    const prefixes = rangeToPrefixes(first, last);
    expect(prefixes.map((p) => `${p.value}/${p.bits}`)).toEqual(expected);
    // They cover exactly the range: every port inside, none outside.
    const covered = (port: number) => prefixes.some((p) => port >>> (16 - p.bits) === p.value >>> (16 - p.bits) || p.bits === 0);
    for (const port of [first - 1, first, last, last + 1].filter((p) => p >= 0 && p <= 65535)) expect(covered(port), `port ${port}`).toBe(port >= first && port <= last);
  });
});

describe('port sets', () => {
  it('unions, intersects and subtracts ranges', () => {
    expect(unionPorts([[1, 5]], [[6, 9], [20, 30]])).toEqual([[1, 9], [20, 30]]);
    expect(intersectPorts([[1, 9], [20, 30]], [[5, 25]])).toEqual([[5, 9], [20, 25]]);
    expect(subtractPorts([[0, 65535]], [[80, 81], [443, 443]])).toEqual([[0, 79], [82, 442], [444, 65535]]);
    expect(subtractPorts([[80, 81]], [[0, 65535]])).toEqual([]);
  });

  it('takes a range out of a set in place, giving what it took', () => {
    const set: [number, number][] = [[0, 9], [20, 29], [40, 49]];
    expect(takePorts(set, 5, 25)).toEqual([[5, 9], [20, 25]]);
    expect(set).toEqual([[0, 4], [26, 29], [40, 49]]);
    expect(takePorts(set, 30, 39)).toEqual([]);
    expect(takePorts(set, 41, 41)).toEqual([[41, 41]]);
    expect(set).toEqual([[0, 4], [26, 29], [40, 40], [42, 49]]);
    expect(takePorts(set, 0, 65535)).toEqual([[0, 4], [26, 29], [40, 40], [42, 49]]);
    expect(set).toEqual([]);
  });
});
