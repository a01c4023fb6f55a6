// The twill-ipam executable's entry point, run from the sources by the launcher script
// (launcher.ts) and from the build by bin/twill-ipam.js.
import { runTwillIpam } from './main.js';

await runTwillIpam();
