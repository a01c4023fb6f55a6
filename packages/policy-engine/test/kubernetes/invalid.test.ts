import { describe, expect, it } from 'vitest';

import { parseNetworkPolicy, PolicyValidationError, validateNetworkPolicy } from '@twill/policy-engine';

import { INVALID_CASES } from './invalid-corpus.js';

describe('invalid NetworkPolicies', () => {
  it('has a corpus of at least 25', () => {
    expect(INVALID_CASES.length).toBeGreaterThanOrEqual(25);
  });

  for (const testCase of INVALID_CASES) {
    it(`reports ${testCase.name}`, () => {
      expect(validateNetworkPolicy(testCase.document).map((e) => e.message)).toEqual(testCase.errors);
      let thrown: unknown;
      try {
        parseNetworkPolicy(testCase.document);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(PolicyValidationError);
      const error = thrown as PolicyValidationError;
      expect(error.message).toBe(testCase.errors.join('\n'));
      expect(error.code).toBe('invalid-policy');
      expect(error.errors[0]?.path).toBe(error.path);
    });
  }
});
