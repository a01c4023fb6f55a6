// The corpus of bad configurations: each with the format it is read as, the input text,
// and the exact error a user sees (spec code and message). Driven by bad-configs.test.ts.

/** How an input is read. */
export type BadConfigFormat = 'list' | 'single' | 'plugin';

/** One bad input and its expected error. */
export interface BadConfigCase {
  readonly name: string;
  readonly format: BadConfigFormat;
  readonly input: string;
  readonly code: number;
  readonly msg: string;
}

const plugin = (p: Record<string, unknown>): string =>
  JSON.stringify({ cniVersion: '1.1.0', name: 'net', plugins: [p] });
const list = (l: Record<string, unknown>): string =>
  JSON.stringify({ cniVersion: '1.1.0', name: 'net', plugins: [{ type: 'bridge' }], ...l });

export const BAD_CONFIGS: readonly BadConfigCase[] = [
  // Decoding (code 6).
  { name: 'empty input', format: 'list', input: '', code: 6, msg: 'invalid JSON at line 1, column 1: unexpected end of input' },
  { name: 'truncated object', format: 'list', input: '{"name": "a",', code: 6, msg: 'invalid JSON at line 1, column 14: expected a string key' },
  { name: 'spec-style // comment', format: 'list', input: '{\n  // comment\n}', code: 6, msg: 'invalid JSON at line 2, column 3: expected a string key' },
  { name: 'trailing comma in array', format: 'list', input: '{"plugins": [1,]}', code: 6, msg: 'invalid JSON at line 1, column 16: unexpected character "]"' },
  { name: 'single quotes', format: 'list', input: "{'name': 'a'}", code: 6, msg: 'invalid JSON at line 1, column 2: expected a string key' },
  { name: 'content after the document', format: 'list', input: '{} {}', code: 6, msg: 'invalid JSON at line 1, column 4: unexpected content after the document' },
  { name: 'leading zero number', format: 'list', input: '{"a": 01}', code: 6, msg: 'invalid JSON at line 1, column 8: expected "," or "}"' },
  { name: 'bad escape', format: 'list', input: '{"a": "\\x"}', code: 6, msg: 'invalid JSON at line 1, column 8: invalid escape in a string' },
  { name: 'raw newline in a string', format: 'list', input: '{"a": "x\ny"}', code: 6, msg: 'invalid JSON at line 1, column 9: control character in a string' },
  { name: 'NaN literal', format: 'list', input: '{"a": NaN}', code: 6, msg: 'invalid JSON at line 1, column 7: unexpected character "N"' },
  { name: 'nested too deeply', format: 'list', input: '['.repeat(600), code: 6, msg: 'invalid JSON at line 1, column 514: nesting deeper than 512 levels' },

  // The document and its top-level fields (code 7, code 1).
  { name: 'document is an array', format: 'list', input: '[]', code: 7, msg: 'configuration: must be an object (got array)' },
  { name: 'document is null', format: 'single', input: 'null', code: 7, msg: 'configuration: must be an object (got null)' },
  { name: 'name missing', format: 'list', input: '{"cniVersion": "1.1.0", "plugins": [{"type": "x"}]}', code: 7, msg: 'name: missing' },
  { name: 'name not a string', format: 'list', input: list({ name: 42 }), code: 7, msg: 'name: must be a string (got number)' },
  { name: 'name empty', format: 'list', input: list({ name: '' }), code: 7, msg: 'name: must not be empty' },
  { name: 'name with a space', format: 'list', input: list({ name: 'my net' }), code: 7, msg: 'name: invalid network name "my net": must start with a letter or digit and contain only letters, digits, "_", "." and "-"' },
  { name: 'name with a slash', format: 'list', input: list({ name: '../etc' }), code: 7, msg: 'name: invalid network name "../etc": must start with a letter or digit and contain only letters, digits, "_", "." and "-"' },
  { name: 'name starting with a dash', format: 'single', input: '{"cniVersion": "1.0.0", "name": "-a", "type": "bridge"}', code: 7, msg: 'name: invalid network name "-a": must start with a letter or digit and contain only letters, digits, "_", "." and "-"' },
  { name: 'cniVersion missing', format: 'list', input: '{"name": "a", "plugins": [{"type": "x"}]}', code: 7, msg: 'cniVersion: missing' },
  { name: 'cniVersion not a string', format: 'list', input: list({ cniVersion: 1.1 }), code: 7, msg: 'cniVersion: must be a string (got number)' },
  { name: 'cniVersion malformed', format: 'list', input: list({ cniVersion: '1.1.0-rc1' }), code: 7, msg: 'cniVersion: invalid version "1.1.0-rc1"' },
  { name: 'cniVersion unsupported', format: 'list', input: list({ cniVersion: '2.0.0' }), code: 1, msg: 'cniVersion: no supported version among "2.0.0" (supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0)' },
  { name: 'cniVersions not an array', format: 'list', input: list({ cniVersions: '1.1.0' }), code: 7, msg: 'cniVersions: must be an array (got string)' },
  { name: 'cniVersions entry not a string', format: 'list', input: list({ cniVersions: ['1.0.0', 1] }), code: 7, msg: 'cniVersions[1]: must be a string (got number)' },
  { name: 'cniVersions entry malformed', format: 'list', input: list({ cniVersions: ['1.0.0', 'v1.1'] }), code: 7, msg: 'cniVersions[1]: invalid version "v1.1"' },
  { name: 'cniVersions all unsupported', format: 'list', input: list({ cniVersion: '3.0.0', cniVersions: ['2.0.0', '3.0.0'] }), code: 1, msg: 'cniVersions: no supported version among "3.0.0", "2.0.0", "3.0.0" (supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0)' },
  { name: 'disableCheck a number', format: 'list', input: list({ disableCheck: 1 }), code: 7, msg: 'disableCheck: must be a boolean (got number)' },
  { name: 'disableCheck an unknown string', format: 'list', input: list({ disableCheck: 'yes' }), code: 7, msg: 'disableCheck: must be a boolean (got "yes")' },
  { name: 'disableGC null', format: 'list', input: list({ disableGC: null }), code: 7, msg: 'disableGC: must be a boolean (got null)' },
  { name: 'loadOnlyInlinedPlugins without plugins', format: 'list', input: '{"cniVersion": "1.1.0", "name": "a", "loadOnlyInlinedPlugins": true}', code: 7, msg: 'plugins: missing (required when loadOnlyInlinedPlugins is true)' },
  { name: 'no plugins anywhere', format: 'list', input: '{"cniVersion": "1.1.0", "name": "a"}', code: 7, msg: "plugins: missing (no plugin configuration inline, and none in the network's directory)" },
  { name: 'plugins not an array', format: 'list', input: list({ plugins: { type: 'bridge' } }), code: 7, msg: 'plugins: must be an array (got object)' },
  { name: 'plugins empty', format: 'list', input: list({ plugins: [] }), code: 7, msg: 'plugins: must not be empty' },
  { name: 'plugin not an object', format: 'list', input: list({ plugins: [{ type: 'a' }, 'portmap'] }), code: 7, msg: 'plugins[1]: must be an object (got string)' },

  // Plugin configuration objects (code 7, code 2).
  { name: 'plugin type missing', format: 'list', input: list({ plugins: [{ type: 'bridge' }, { bridge: 'cni0' }] }), code: 7, msg: 'plugins[1].type: missing' },
  { name: 'plugin type empty', format: 'list', input: plugin({ type: '' }), code: 7, msg: 'plugins[0].type: must not be empty' },
  { name: 'plugin type a path', format: 'list', input: plugin({ type: '/opt/cni/bin/bridge' }), code: 7, msg: 'plugins[0].type: invalid plugin type "/opt/cni/bin/bridge": must be a file name, without "/" or "\\"' },
  { name: 'plugin type dot-dot', format: 'list', input: plugin({ type: '..' }), code: 7, msg: 'plugins[0].type: invalid plugin type "..": must be a file name, without "/" or "\\"' },
  { name: 'plugin type a number', format: 'list', input: plugin({ type: 7 }), code: 7, msg: 'plugins[0].type: must be a string (got number)' },
  { name: 'capabilities an array', format: 'list', input: plugin({ type: 'portmap', capabilities: ['portMappings'] }), code: 7, msg: 'plugins[0].capabilities: must be an object (got array)' },
  { name: 'capability not a boolean', format: 'list', input: plugin({ type: 'portmap', capabilities: { portMappings: 'true' } }), code: 7, msg: 'plugins[0].capabilities.portMappings: must be a boolean (got string)' },
  { name: 'capability with an odd name not a boolean', format: 'list', input: plugin({ type: 'x', capabilities: { 'io.kubernetes.cri/pod': 1 } }), code: 7, msg: 'plugins[0].capabilities["io.kubernetes.cri/pod"]: must be a boolean (got number)' },
  { name: 'args not an object', format: 'list', input: plugin({ type: 'x', args: 'K8S_POD_NAME=a' }), code: 7, msg: 'plugins[0].args: must be an object (got string)' },
  { name: 'runtimeConfig not an object', format: 'list', input: plugin({ type: 'x', runtimeConfig: [] }), code: 7, msg: 'plugins[0].runtimeConfig: must be an object (got array)' },
  { name: 'ipMasq a string', format: 'list', input: plugin({ type: 'bridge', ipMasq: 'true' }), code: 7, msg: 'plugins[0].ipMasq: must be a boolean (got string)' },
  { name: 'plugin name a number', format: 'list', input: plugin({ type: 'bridge', name: 1 }), code: 7, msg: 'plugins[0].name: must be a string (got number)' },
  { name: 'ipam a string', format: 'list', input: plugin({ type: 'bridge', ipam: 'host-local' }), code: 7, msg: 'plugins[0].ipam: must be an object (got string)' },
  { name: 'ipam type a path', format: 'list', input: plugin({ type: 'bridge', ipam: { type: 'a\\b' } }), code: 7, msg: 'plugins[0].ipam.type: invalid IPAM plugin type "a\\\\b": must be a file name, without "/" or "\\"' },
  { name: 'dns not an object', format: 'list', input: plugin({ type: 'bridge', dns: ['10.0.0.1'] }), code: 7, msg: 'plugins[0].dns: must be an object (got array)' },
  { name: 'dns nameserver not an IP', format: 'list', input: plugin({ type: 'bridge', dns: { nameservers: ['10.0.0.1', 'dns.local'] } }), code: 7, msg: 'plugins[0].dns.nameservers[1]: invalid IP address "dns.local"' },
  { name: 'dns nameserver legacy IPv4 form', format: 'list', input: plugin({ type: 'bridge', dns: { nameservers: ['10.1'] } }), code: 7, msg: 'plugins[0].dns.nameservers[0]: invalid IP address "10.1"' },
  { name: 'dns search not strings', format: 'list', input: plugin({ type: 'bridge', dns: { search: ['a', 2] } }), code: 7, msg: 'plugins[0].dns.search[1]: must be a string (got number)' },
  { name: 'dns domain a list', format: 'list', input: plugin({ type: 'bridge', dns: { domain: ['a'] } }), code: 7, msg: 'plugins[0].dns.domain: must be a string (got array)' },

  // Single configurations (.conf / .json) and directory plugin files.
  { name: 'single config without type', format: 'single', input: '{"cniVersion": "0.4.0", "name": "a"}', code: 7, msg: 'type: missing' },
  { name: 'single config with a bad capability', format: 'single', input: '{"cniVersion": "0.4.0", "name": "a", "type": "portmap", "capabilities": {"portMappings": null}}', code: 7, msg: 'capabilities.portMappings: must be a boolean (got null)' },
  { name: 'single config with an unsupported version', format: 'single', input: '{"cniVersion": "0.5.0", "name": "a", "type": "x"}', code: 1, msg: 'cniVersion: no supported version among "0.5.0" (supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0)' },
  { name: 'plugin file without type', format: 'plugin', input: '{"subnet": "10.0.0.0/24"}', code: 7, msg: 'type: missing' },
];
