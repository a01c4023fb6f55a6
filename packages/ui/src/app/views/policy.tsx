// The policy view: pick a pod to see which policies select it and its effective ingress
// and egress rules; ask "can A reach B on port P" and get the verdict and the deciding
// rule, computed by the agent as `twill policy explain` computes it.
import { useState } from 'preact/hooks';

import { getJson } from '../api.js';
import { describeDecision, formatPolicy } from '../model/format.js';
import { type UiEndpoint, type UiPodPolicy, type UiProbe, type UiTier } from '../model/types.js';

interface Props {
  readonly endpoints: readonly UiEndpoint[];
}

const podKey = (e: UiEndpoint): string => `${e.namespace}/${e.pod}`;

function PodSelect(props: { label: string; value: string; onChange: (value: string) => void; pods: readonly string[] }) {
  return (
    <label>
      {props.label}
      <select aria-label={props.label} value={props.value} onChange={(e) => props.onChange((e.currentTarget as HTMLSelectElement).value)}>
        <option value="">choose a pod</option>
        {props.pods.map((p) => (
          <option key={p} value={p}>
            {p}
          </option>
        ))}
      </select>
    </label>
  );
}

function Tiers({ title, tiers }: { title: string; tiers: readonly UiTier[] }) {
  return (
    <div class="panel">
      <h3>{title}</h3>
      {tiers.length === 0 ? <p>No policy selects the pod for {title.toLowerCase()}: everything is allowed.</p> : null}
      {tiers.map((tier) => (
        <table key={tier.tier} aria-label={`${title} rules of tier ${tier.tier}`}>
          <caption style="text-align: left">
            Tier {tier.tier}: {tier.end === 'deny' ? `isolated by ${tier.isolatedBy.map(formatPolicy).join(', ')} (no rule matched: denied)` : 'no rule matched: on to the next tier'}
          </caption>
          <thead>
            <tr>
              <th scope="col">Action</th>
              <th scope="col">Policy</th>
              <th scope="col">Rule</th>
              <th scope="col">Matches</th>
            </tr>
          </thead>
          <tbody>
            {tier.rules.map((r, i) => (
              <tr key={i}>
                <td class={r.action === 'allow' ? 'allow' : r.action === 'deny' ? 'deny' : ''}>{r.action}</td>
                <td>{formatPolicy(r.policy)}</td>
                <td>{r.rule}</td>
                <td class="wrap">{r.match}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
    </div>
  );
}

/** The policy view. */
export function PolicyView({ endpoints }: Props) {
  const pods = endpoints.map(podKey).sort();
  const [pod, setPod] = useState('');
  const [policy, setPolicy] = useState<UiPodPolicy | undefined>(undefined);
  const [policyError, setPolicyError] = useState<string | undefined>(undefined);
  const [probe, setProbe] = useState({ from: '', to: '', port: '', protocol: 'TCP' });
  const [answer, setAnswer] = useState<UiProbe | undefined>(undefined);
  const [probeError, setProbeError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const choosePod = (value: string): void => {
    setPod(value);
    setPolicy(undefined);
    setPolicyError(undefined);
    if (value === '') return;
    getJson<UiPodPolicy>(`api/ui/policy?pod=${encodeURIComponent(value)}`).then(setPolicy, (error: unknown) => setPolicyError(error instanceof Error ? error.message : String(error)));
  };

  const explain = (event: Event): void => {
    event.preventDefault();
    setBusy(true);
    setAnswer(undefined);
    setProbeError(undefined);
    const query = new URLSearchParams(probe);
    getJson<UiProbe>(`api/ui/explain?${query.toString()}`)
      .then(setAnswer, (error: unknown) => setProbeError(error instanceof Error ? error.message : String(error)))
      .finally(() => setBusy(false));
  };

  return (
    <section aria-label="Policy">
      <div class="panel">
        <h2>Can A reach B?</h2>
        <form class="toolbar" aria-label="Explain a connection" onSubmit={explain}>
          <PodSelect label="From pod" value={probe.from} pods={pods} onChange={(from) => setProbe({ ...probe, from })} />
          <PodSelect label="To pod" value={probe.to} pods={pods} onChange={(to) => setProbe({ ...probe, to })} />
          <label>
            Port
            <input type="text" inputMode="numeric" size={6} required value={probe.port} onInput={(e) => setProbe({ ...probe, port: (e.currentTarget as HTMLInputElement).value })} />
          </label>
          <label>
            Protocol
            <select value={probe.protocol} onChange={(e) => setProbe({ ...probe, protocol: (e.currentTarget as HTMLSelectElement).value })}>
              {['TCP', 'UDP', 'SCTP'].map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={busy}>
            Explain
          </button>
        </form>
        {probeError === undefined ? null : (
          <p class="error" role="alert">
            {probeError}
          </p>
        )}
        {answer === undefined ? null : (
          <div role="region" aria-label="Verdict" data-verdict={answer.verdict}>
            <p>
              <strong class={answer.verdict}>{answer.verdict}</strong>: {answer.from} → {answer.to} port {answer.port}/{answer.protocol}
            </p>
            <p data-decided-by="">Decided by: {describeDecision(answer.decidedBy)}</p>
            {answer.decidedBy.policy?.source === undefined ? null : <p>Source: {answer.decidedBy.policy.source}</p>}
            {answer.decidedBy.ruleSource === undefined ? null : <p>Rule: {answer.decidedBy.ruleSource}</p>}
            <p>Why: {answer.explanation}</p>
          </div>
        )}
      </div>
      <div class="panel">
        <h2>A pod's policies</h2>
        <div class="toolbar">
          <PodSelect label="Pod" value={pod} pods={pods} onChange={choosePod} />
        </div>
        {policyError === undefined ? null : (
          <p class="error" role="alert">
            {policyError}
          </p>
        )}
        {policy === undefined ? null : (
          <>
            <p>
              Selected by: {policy.selectedBy.length === 0 ? 'no policy' : policy.selectedBy.map((p) => `${formatPolicy(p)}${p.source === undefined ? '' : ` (${p.source})`}`).join('; ')}
            </p>
            <Tiers title="Ingress" tiers={policy.ingress} />
            <Tiers title="Egress" tiers={policy.egress} />
            {policy.leftOut.length === 0 ? null : <p class="error">Left out: {policy.leftOut.join('; ')}</p>}
          </>
        )}
      </div>
    </section>
  );
}
