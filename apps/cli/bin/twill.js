#!/usr/bin/env node
// twill, the command line, from the built package (`npx tsc -p apps/cli/tsconfig.lib.json`).
import { main } from '../dist/index.js';

process.exitCode = await main(process.argv.slice(2));
