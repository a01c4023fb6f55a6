import { describe, expect, it } from 'vitest';

import { parseCiliumPolicy, PolicyValidationError, validateCiliumPolicy } from '@twill/policy-engine';

import { INVALID_CASES } from './invalid-corpus.js';

describe('invalid Cilium policies', () => {
  it('has a corpus of at least 20', () => {
    expect(INVALID_CASES.length).toBeGreaterThanOrEqual(20);
  });

  for (const testCase of INVALID_CASES) {
    it(`reports ${testCase.name}`, () => {
      expect(validateCiliumPolicy(testCase.document).map((e) => e.message)).toEqual(testCase.errors);
      let thrown: unknown;
      try {
        parseCiliumPolicy(testCase.document);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(PolicyValidationError);
      const error = thrown as PolicyValidationError;
      expect(error.message).toBe(testCase.errors.join('\n'));
      expect(error.errors[0]?.path).toBe(error.path);
    });
  }
});
