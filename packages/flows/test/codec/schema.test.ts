import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { flowsSchema } from '../../src/codec/schema.js';
import { FLOW_PROTO, OBSERVER_PROTO } from '../../src/internal/proto-text.js';

const proto = (name: string): string => readFileSync(join(import.meta.dirname, '../../proto', name), 'utf8');

describe('the embedded schema', () => {
  it('is the text of proto/*.proto (run scripts/embed-proto.ts after editing them)', () => {
    expect(FLOW_PROTO).toBe(proto('flow.proto'));
    expect(OBSERVER_PROTO).toBe(proto('observer.proto'));
  });

  it("declares Hubble's service: observer.Observer with GetFlows streaming and ServerStatus", () => {
    const { Observer } = flowsSchema();
    expect(Observer.fullName).toBe('.observer.Observer');
    const getFlows = Observer.methods.GetFlows;
    expect([getFlows?.requestType, getFlows?.responseType, getFlows?.responseStream === true]).toEqual(['GetFlowsRequest', 'GetFlowsResponse', true]);
    expect(Observer.methods.ServerStatus?.responseStream).toBeFalsy();
  });

  it("gives the L7 fields Hubble's numbers (cilium api/v1/flow/flow.proto)", () => {
    const { root, Flow, FlowFilter } = flowsSchema();
    expect(Flow.fields.l7?.id).toBe(15);
    const layer7 = root.lookupType('flow.Layer7');
    expect([layer7.fields.type?.id, layer7.fields.latencyNs?.id, layer7.fields.http?.id]).toEqual([1, 2, 101]);
    const http = root.lookupType('flow.HTTP');
    expect(['code', 'method', 'url', 'protocol', 'headers'].map((f) => http.fields[f]?.id)).toEqual([1, 2, 3, 4, 5]);
    expect(root.lookupEnum('flow.L7FlowType').values).toEqual({ UNKNOWN_L7_TYPE: 0, REQUEST: 1, RESPONSE: 2, SAMPLE: 3 });
    expect(root.lookupEnum('flow.FlowType').values).toEqual({ UNKNOWN_TYPE: 0, L3_L4: 1, L7: 2 });
    expect(['httpStatusCode', 'httpMethod', 'httpPath', 'httpUrl'].map((f) => FlowFilter.fields[f]?.id)).toEqual([9, 21, 22, 31]);
  });

  it('gives Twill-only fields numbers from 1000 up', () => {
    const { Flow, FlowFilter, LostEvent } = flowsSchema();
    expect(Flow.fields.decidedBy?.id).toBe(1000);
    expect(FlowFilter.fields.policy?.id).toBe(1000);
    expect(LostEvent.fields.sourceName?.id).toBe(1000);
  });
});
