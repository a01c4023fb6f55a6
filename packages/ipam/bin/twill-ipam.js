#!/usr/bin/env node
// twill-ipam, the CNI IPAM plugin (a drop-in for host-local): runs the built package.
// Build first with `npx tsc -p packages/ipam/tsconfig.lib.json` (and cni-core's likewise);
// to run from the TypeScript sources instead, see the README's source launcher.
import { runTwillIpam } from '../dist/plugin/sys/main.js';

await runTwillIpam();
