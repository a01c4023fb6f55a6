// The BGP view: this node's speaker, its peers with state, uptime, prefixes and the last
// error in words; read again every 5 s and on demand.
import { useEffect, useState } from 'preact/hooks';

import { getJson } from '../api.js';
import { formatUptime } from '../model/format.js';
import { type UiBgpStatus } from '../model/types.js';

/** The BGP view. */
export function BgpView() {
  const [status, setStatus] = useState<UiBgpStatus | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const load = (): void => {
    getJson<UiBgpStatus>('api/v1/bgp/peers').then(
      (s) => {
        setStatus(s);
        setError(undefined);
      },
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );
  };
  useEffect(() => {
    load();
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, []);
  return (
    <section aria-label="BGP">
      <div class="toolbar">
        <button type="button" onClick={load}>
          Refresh BGP
        </button>
        {status === undefined ? null : (
          <span>
            AS {status.localAs ?? '—'}, router id {status.routerId ?? '—'}, originating {status.originated.join(', ') || 'nothing'}
          </span>
        )}
      </div>
      {error === undefined ? null : (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {status === undefined ? null : (
        <table aria-label="BGP peers">
          <thead>
            <tr>
              <th scope="col">Peer</th>
              <th scope="col">AS</th>
              <th scope="col">State</th>
              <th scope="col">Uptime</th>
              <th scope="col">Prefixes received</th>
              <th scope="col">Prefixes advertised</th>
              <th scope="col">Last error</th>
            </tr>
          </thead>
          <tbody>
            {status.peers.map((p) => (
              <tr key={p.address}>
                <td>{p.address}</td>
                <td>{p.asn}</td>
                <td class={p.state === 'Established' ? 'allow' : 'deny'}>{p.state}</td>
                <td>{formatUptime(p.uptimeSeconds)}</td>
                <td>{p.receivedPrefixes}</td>
                <td>{p.advertisedPrefixes}</td>
                <td class="wrap">{p.lastError ?? 'none'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
