#!/usr/bin/env node
// twill, the standalone CNI plugin, from the built package: the fallback the native
// forwarder execs as `twill.standalone` when no agent answers on its socket. It loads
// the plugin and nothing else of the agent. Build first with
// `npx tsc -p apps/agent/tsconfig.lib.json` (and the packages it uses likewise).
import '../dist/plugin/sys/cli.js';
