// The lab's demonstration: what `twill lab up` runs once the lab is up (see demo.ts), and
// what `lab up` and `lab down` need of it:
//   spec:      { ...spec, pods: demoLabPods(spec.nodes, spec.podsPerNode), namespaces: DEMO_NAMESPACES }
//   after up:  await runDemonstration(lab, cliIo, { labDirOption, twillCommand })
//   down:      removed.push(...await demoDown(demoFiles(dir).dir))   (before the namespaces go)

export { applyThroughAgents, demoFiles, exploreText, runDemonstration, type DemoOptions, type DemoReport, type DemoStepReport } from './demo.js';
export { DEMO_NAMESPACES, DEMO_ROLE, demoLabPods, ROLE_LABEL, ROLE_SERVICES, roleOf, type DemoRole } from './roles.js';
export { DEMO_STEPS, type DemoStep } from './steps.js';
export { labSnapshotYaml } from './snapshot.js';
export { renderMatrix, type ConnectivityMatrix } from './matrix.js';
export { renderHttpProbes, type HttpExpectation, type HttpProbeReport } from './l7.js';
export { DEMO_POLICIES_DIR, demoDown, nodeDemoSystem, stopServersOf } from './sys/system.js';
export type { DemoSystem, ServerRecord } from './system-port.js';
