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

  it('gives Twill-only fields numbers from 1000 up', () => {
    const { Flow, FlowFilter, LostEvent } = flowsSchema();
    expect(Flow.fields.decidedBy?.id).toBe(1000);
    expect(FlowFilter.fields.policy?.id).toBe(1000);
    expect(LostEvent.fields.sourceName?.id).toBe(1000);
  });
});
