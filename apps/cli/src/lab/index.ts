// The lab's public surface for the CLI's commands and the demonstration (lab/demo/).
// The model and the operations' contracts are in ports.ts.

export { LAB_ERROR_CODE, LabError, type LabErrorCode } from './errors.js';
export * from './ports.js';

import { LAB_ERROR_CODE, LabError } from './errors.js';
import { type LabDown, type LabExec, type LabStatusOf, type LabUp } from './ports.js';

// Placeholders until the implementation lands (this session): the signatures are final.
const pending = (): never => {
  throw new LabError(LAB_ERROR_CODE.STEP_FAILED, 'twill lab: not built yet');
};
/** See {@link LabUp}. */
export const labUp: LabUp = async () => pending();
/** See {@link LabDown}. */
export const labDown: LabDown = async () => pending();
/** See {@link LabStatusOf}. */
export const labStatus: LabStatusOf = async () => pending();
/** See {@link LabExec}. */
export const labExec: LabExec = async () => pending();
