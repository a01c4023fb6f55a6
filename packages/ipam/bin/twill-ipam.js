#!/usr/bin/env node
// twill-ipam, the CNI IPAM plugin (a drop-in for host-local), from the built package:
// exec'd with no arguments it is the plugin; `twill-ipam serve [--socket PATH]` is the
// warm server behind the native forwarder. Build first with
// `npx tsc -p packages/ipam/tsconfig.lib.json` (and cni-core's likewise); to run from
// the TypeScript sources instead, see the README's source launcher.
import '../dist/plugin/sys/cli.js';
