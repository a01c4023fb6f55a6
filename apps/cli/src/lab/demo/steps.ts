// The demonstration's steps: the seed tutorial's three policies, applied one at a time,
// then one of Twill's that opens the other end of each path (under default-deny a
// connection needs an Allow at both ends). What each step says is checked against
// `twill policy simulate` by test/lab/demo-steps.test.ts.

/** One step: a policy file of policies/ and what it does, in a few lines. */
export interface DemoStep {
  /** The file's name in policies/. */
  readonly file: string;
  /** The policies it applies, as a heading. */
  readonly title: string;
  /** Whether the seed tutorial has it (else it is Twill's addition). */
  readonly fromTutorial: boolean;
  /** What to expect, one sentence a line. */
  readonly says: readonly string[];
}

/** The steps, in the order they are applied. */
export const DEMO_STEPS: readonly DemoStep[] = [
  {
    file: '01-allow-api-access.yaml',
    title: 'Calico NetworkPolicy production/allow-api-access',
    fromTutorial: true,
    says: [
      'api-server pods accept TCP 8080 only from app == "frontend", and connect only to app == "database" on 5432.',
      'No policy selects the other pods yet: they reach each other as before.',
    ],
  },
  {
    file: '02-default-deny.yaml',
    title: 'Calico GlobalNetworkPolicy default-deny',
    fromTutorial: true,
    says: [
      'Every pod is isolated for ingress and egress: a connection needs an Allow rule at both ends.',
      'allow-api-access opens only the api-server\'s ends, so even frontend -> api-server is denied now (at the frontend\'s egress).',
    ],
  },
  {
    file: '03-l7-api-policy.yaml',
    title: 'CiliumNetworkPolicy default/l7-api-policy',
    fromTutorial: true,
    says: [
      'api pods accept TCP 8080 from app: frontend pods of namespace default, and of HTTP only GET /api/v1/.*.',
      'Each agent enforces both parts: the L3/L4 part (TCP 8080 from those pods) in its dataplane, the HTTP rule in its L7 proxy (403 for any other request).',
      'web -> api is still denied: default-deny isolates web for egress.',
    ],
  },
  {
    file: '04-allow-client-sides.yaml',
    title: 'Calico GlobalNetworkPolicy allow-frontend-egress, NetworkPolicy production/allow-database-ingress',
    fromTutorial: false,
    says: [
      'Opens the other end of each path: frontends may connect to app in {api-server, api} on 8080; databases accept api-servers on 5432.',
      'Now frontend -> api-server:8080, api-server -> database:5432 and web -> api:8080 pass, and nothing else.',
    ],
  },
];
