// The twill-ipam executable's entry point, run from the sources by the launcher script
// (launcher.ts) and from the build by bin/twill-ipam.js. Exec'd by a runtime (no
// arguments) it is the CNI plugin; `twill-ipam serve [--socket PATH]` is the warm
// server behind the native forwarder.
import { runTwillIpam } from './main.js';

const [command, ...rest] = process.argv.slice(2);
if (command === 'serve') {
  const { runServeCommand } = await import('./serve-command.js');
  process.exitCode = await runServeCommand(rest);
} else {
  await runTwillIpam();
}
