// What changes from run to run in the resource commands' output, replaced by fixed
// text so golden files compare: ages, creation times, resource versions, uids, the
// agent's temporary folder and its node name.

import { type TestAgent } from '../agent-harness.js';

/** `out` with the run-dependent parts replaced. */
export function normalise(out: string, agent: TestAgent): string {
  return out
    .replaceAll(agent.dir, '<dir>')
    .replaceAll(agent.nodeName, 'twt-cli-xxxxxxxx')
    // AGE is the last column of every table that has one.
    .replace(/(?<=\s)\d+[smhdy](\d+[smhd])?$/gm, '<age>')
    .replace(/("resourceVersion": )"[^"]*"/g, '$1"<rv>"')
    .replace(/("uid": )"[^"]*"/g, '$1"<uid>"')
    .replace(/("creationTimestamp": )"[^"]*"/g, '$1"<created>"')
    .replace(/^(\s*resourceVersion: ).*$/gm, '$1<rv>')
    .replace(/^(\s*uid: ).*$/gm, '$1<uid>')
    .replace(/^(\s*creationTimestamp: ).*$/gm, '$1<created>')
    .replace(/^(Created:\s+).*$/gm, '$1<created>')
    .replace(/^(Resource version:\s+).*$/gm, '$1<rv>')
    .replace(/^(UID:\s+).*$/gm, '$1<uid>');
}
