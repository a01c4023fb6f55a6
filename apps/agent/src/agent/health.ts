// What the agent's HTTP server answers (pure: sys/http.ts is the socket around it):
// `/healthz` (the process serves), `/readyz` (every part is ready, else 503 naming the
// ones that are not), `/metrics` (Prometheus text) and `/v1/status` (JSON for the CLI).
// Kubernetes probes: liveness on /healthz, readiness on /readyz, as Calico's felix
// serves them on 127.0.0.1:9099.

/** One part of the agent, ready or not (the datastore, the CNI socket, each controller). */
export interface ReadinessPart {
  readonly name: string;
  readonly ready: boolean;
  /** Why it is not ready, in words, when known; or what is degraded in a part that stays ready (`flows`). */
  readonly detail?: string;
}

/** What the HTTP answers are made of. */
export interface HealthSource {
  /** Every part whose readiness /readyz reports, in a stable order. */
  readiness(): readonly ReadinessPart[];
  /** The Prometheus exposition and its content type. */
  metrics(): Promise<{ readonly contentType: string; readonly body: string }>;
  /** The status document of `/v1/status` (JSON-serialisable). */
  status(): Promise<unknown>;
}

/** One HTTP answer. */
export interface HttpAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  /** Extra headers (`Allow` on 405). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** The paths the server answers. */
export const HEALTH_PATHS = {
  healthz: '/healthz',
  readyz: '/readyz',
  metrics: '/metrics',
  status: '/v1/status',
} as const;

const JSON_TYPE = 'application/json; charset=utf-8';

function json(status: number, document: unknown): HttpAnswer {
  return { status, contentType: JSON_TYPE, body: `${JSON.stringify(document, null, 2)}\n` };
}

/** The readiness document: `{ready, notReady: [names], parts}`; ready when every part is. */
export function readinessReport(parts: readonly ReadinessPart[]): { ready: boolean; notReady: string[]; parts: readonly ReadinessPart[] } {
  const notReady = parts.filter((part) => !part.ready).map((part) => part.name);
  return { ready: notReady.length === 0, notReady, parts };
}

/**
 * Answers one request: GET (or HEAD) of {@link HEALTH_PATHS}; 404 for another path, 405
 * for another method. A failure producing an answer becomes a 500 naming it (never thrown).
 */
export async function answerHealthRequest(method: string, url: string, source: HealthSource): Promise<HttpAnswer> {
  // The query string is ignored (`/readyz?verbose` as Kubernetes' own endpoints accept it).
  const path = url.split('?')[0] ?? url;
  const known = (Object.values(HEALTH_PATHS) as string[]).includes(path);
  if (!known) return json(404, { error: `no such path ${JSON.stringify(path)}`, paths: Object.values(HEALTH_PATHS) });
  if (method !== 'GET' && method !== 'HEAD') return { ...json(405, { error: `${method} not allowed: GET or HEAD` }), headers: { allow: 'GET, HEAD' } };
  try {
    switch (path) {
      case HEALTH_PATHS.healthz:
        return { status: 200, contentType: 'text/plain; charset=utf-8', body: 'ok\n' };
      case HEALTH_PATHS.readyz: {
        const report = readinessReport(source.readiness());
        return json(report.ready ? 200 : 503, report);
      }
      case HEALTH_PATHS.metrics: {
        const { contentType, body } = await source.metrics();
        return { status: 200, contentType, body };
      }
      default:
        return json(200, await source.status());
    }
  } catch (error) {
    return json(500, { error: error instanceof Error ? error.message : String(error) });
  }
}
