#!/usr/bin/env node
// twill-agent, the node daemon. Runs the built package (build first with
// `npx tsc -p apps/agent/tsconfig.lib.json` and the packages it uses likewise); started
// with `node --conditions=@twill/source --import tsx`, it runs the TypeScript sources
// instead (tests and the lab: nothing built).
const fromSources = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((arg) => arg.endsWith('@twill/source'));
await import(fromSources ? '../src/agent/sys/cli.ts' : '../dist/agent/sys/cli.js');
