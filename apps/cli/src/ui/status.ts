// The dashboard's part of an agent's `/v1/status`, read for `twill ui`.
import { type UiStatusView } from '../client/index.js';

/** The URL of a status's `ui` part (with the token the agent's start made), or the reason there is none. */
export function uiUrlOrReason(ui: UiStatusView | undefined): { url: string; listen: { readonly host: string; readonly port: number } } | { reason: string } {
  if (ui === undefined) return { reason: 'this agent serves no dashboard (it is older than the dashboard: upgrade twill-agent)' };
  if (!ui.enabled) return { reason: `the dashboard is off: ${ui.reason}` };
  if (!ui.listening) return { reason: ui.serveError ?? `the dashboard is not listening on ${ui.listen.host}:${ui.listen.port}` };
  return { url: ui.url, listen: ui.listen };
}
