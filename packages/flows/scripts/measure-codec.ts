// CPU per flow of the codec, side by side with JSON on the same flow (ratios; the machine is shared, so
// absolute numbers move): npx tsx --conditions=@twill/source packages/flows/scripts/measure-codec.ts
import { decodeFlow, encodeFlow } from '../src/index.js';
import { makeFlow } from '../test/fixtures.js';
const flow = makeFlow({ decidedBy: { reason: 'rule', direction: 'ingress', policy: { name: 'allow-web', namespace: 'prod', labels: [], revision: 3, kind: 'NetworkPolicy' }, rulePath: 'spec.ingress[0]', ruleIndex: 0, action: 'allow', attribution: 'kernel', message: 'allowed by NetworkPolicy prod/allow-web spec.ingress[0]' } });
const bytes = encodeFlow(flow); const json = JSON.stringify(flow);
const cpu = (fn: () => void, n: number): number => { const c = process.cpuUsage(); for (let i = 0; i < n; i++) fn(); const d = process.cpuUsage(c); return (d.user + d.system) / n; };
const N = 200_000;
for (let r = 0; r < 5; r++) {
  const e = cpu(() => encodeFlow(flow), N), js = cpu(() => JSON.stringify(flow), N);
  const d = cpu(() => decodeFlow(bytes), N), jp = cpu(() => JSON.parse(json), N);
  console.log(`encode ${e.toFixed(2)} us (${(e / js).toFixed(2)}x JSON.stringify), decode ${d.toFixed(2)} us (${(d / jp).toFixed(2)}x JSON.parse)`);
}
