// The IPAM view: the pools with their utilisation, the blocks of each node, and "why is
// this IP held".
import { useEffect, useState } from 'preact/hooks';

import { getJson } from '../api.js';
import { blocksByNode, blockUtilisation, describeWhyHeld, poolUtilisation } from '../model/format.js';
import { type UiIpam, type UiWhyHeld } from '../model/types.js';

/** The IPAM view. */
export function IpamView() {
  const [ipam, setIpam] = useState<UiIpam | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [ip, setIp] = useState('');
  const [why, setWhy] = useState<string | undefined>(undefined);
  const [whyError, setWhyError] = useState<string | undefined>(undefined);
  const load = (): void => {
    getJson<UiIpam>('api/v1/ipam?blocks=true').then(
      (v) => {
        setIpam(v);
        setError(undefined);
      },
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );
  };
  useEffect(load, []);
  const ask = (event: Event): void => {
    event.preventDefault();
    setWhy(undefined);
    setWhyError(undefined);
    getJson<UiWhyHeld>(`api/v1/ipam/why?ip=${encodeURIComponent(ip.trim())}`).then(
      (answer) => setWhy(describeWhyHeld(answer)),
      (e: unknown) => setWhyError(e instanceof Error ? e.message : String(e)),
    );
  };
  return (
    <section aria-label="IPAM">
      <form class="toolbar" aria-label="Why is this IP held" onSubmit={ask}>
        <label>
          IP address
          <input type="text" value={ip} placeholder="10.244.0.5" required onInput={(e) => setIp((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <button type="submit">Why is it held?</button>
        <button type="button" onClick={load}>
          Refresh IPAM
        </button>
      </form>
      {why === undefined ? null : <p role="status">{why}</p>}
      {whyError === undefined ? null : (
        <p class="error" role="alert">
          {whyError}
        </p>
      )}
      {error === undefined ? null : (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {ipam === undefined ? null : (
        <>
          <table aria-label="IP pools">
            <thead>
              <tr>
                <th scope="col">Pool</th>
                <th scope="col">CIDR</th>
                <th scope="col">Allocated</th>
                <th scope="col">Free</th>
                <th scope="col">Reserved</th>
                <th scope="col">Cooling down</th>
                <th scope="col">Blocks claimed</th>
                <th scope="col">Utilisation</th>
              </tr>
            </thead>
            <tbody>
              {ipam.pools.map((p) => (
                <tr key={p.cidr}>
                  <td>{p.pool}</td>
                  <td>{p.cidr}</td>
                  <td>{p.allocated}</td>
                  <td>{p.free}</td>
                  <td>{p.reserved}</td>
                  <td>{p.cooling}</td>
                  <td>
                    {p.claimedBlocks} of {p.blocks}
                  </td>
                  <td>{poolUtilisation(p)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {blocksByNode(ipam.blocks ?? []).map(([node, blocks]) => (
            <div class="panel" key={node}>
              <h3>Node {node}</h3>
              <table aria-label={`Blocks of node ${node}`}>
                <thead>
                  <tr>
                    <th scope="col">Block</th>
                    <th scope="col">Pool</th>
                    <th scope="col">Allocated</th>
                    <th scope="col">Free</th>
                    <th scope="col">Handles</th>
                    <th scope="col">Utilisation</th>
                  </tr>
                </thead>
                <tbody>
                  {blocks.map((b) => (
                    <tr key={b.cidr}>
                      <td>{b.cidr}</td>
                      <td>{b.pool}</td>
                      <td>{b.allocated}</td>
                      <td>{b.free}</td>
                      <td>{b.handles}</td>
                      <td>
                        <span class="meter" role="meter" aria-label={`Block ${b.cidr} utilisation`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(blockUtilisation(b) * 100)}>
                          <span style={`width: ${Math.round(blockUtilisation(b) * 100)}%`} />
                        </span>{' '}
                        {Math.round(blockUtilisation(b) * 100)}%
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ))}
        </>
      )}
    </section>
  );
}
