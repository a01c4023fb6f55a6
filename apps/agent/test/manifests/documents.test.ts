// The rendered manifests as kubectl reads them: a YAML stream of objects, each with
// apiVersion, kind and metadata.name, equal to manifestObjects; and the options.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

import {
  AGENT_PACKAGE_VERSION,
  DEFAULT_IMAGE,
  ManifestOptionsError,
  manifestObjects,
  renderManifests,
  renderOptionalCrds,
} from '../../src/agent/manifests/index.js';

function parseStream(text: string): Record<string, unknown>[] {
  return parseAllDocuments(text).map((document, index) => {
    expect(document.errors, `document ${index}`).toEqual([]);
    return document.toJS() as Record<string, unknown>;
  });
}

function kinds(objects: readonly Record<string, unknown>[]): string[] {
  return objects.map((o) => `${String(o['kind'])}/${String((o['metadata'] as { name: string }).name)}`);
}

describe('renderManifests', () => {
  it('is a YAML stream of objects with apiVersion, kind and metadata.name, the same as manifestObjects', () => {
    const options = { calicoCrds: true, ciliumCrds: true };
    const documents = parseStream(renderManifests(options));
    for (const document of documents) {
      expect(typeof document['apiVersion'], JSON.stringify(document).slice(0, 80)).toBe('string');
      expect(typeof document['kind']).toBe('string');
      expect(typeof (document['metadata'] as { name?: unknown } | undefined)?.name).toBe('string');
    }
    expect(documents).toEqual(JSON.parse(JSON.stringify(manifestObjects(options))));
  });

  it('installs the CRDs first, then the namespace, the agent\'s identity and RBAC, its ConfigMap and its DaemonSet', () => {
    expect(kinds(manifestObjects())).toEqual([
      'CustomResourceDefinition/ippools.twill.io',
      'CustomResourceDefinition/ipamblocks.twill.io',
      'CustomResourceDefinition/blockaffinities.twill.io',
      'CustomResourceDefinition/ipamhandles.twill.io',
      'CustomResourceDefinition/storeentries.twill.io',
      'CustomResourceDefinition/bgppeers.twill.io',
      'CustomResourceDefinition/bgpconfigurations.twill.io',
      'Namespace/twill-system',
      'ServiceAccount/twill-agent',
      'ClusterRole/twill-agent',
      'ClusterRoleBinding/twill-agent',
      'Role/twill-agent',
      'RoleBinding/twill-agent',
      'ConfigMap/twill-agent',
      'DaemonSet/twill-agent',
    ]);
  });

  it('adds Calico\'s and Cilium\'s CRDs only when asked', () => {
    const crds = (options: Parameters<typeof manifestObjects>[0]): string[] =>
      kinds(manifestObjects(options)).filter((k) => k.startsWith('CustomResourceDefinition/') && !k.endsWith('.twill.io'));
    expect(crds({})).toEqual([]);
    expect(crds({ calicoCrds: true })).toEqual([
      'CustomResourceDefinition/networkpolicies.crd.projectcalico.org',
      'CustomResourceDefinition/globalnetworkpolicies.crd.projectcalico.org',
      'CustomResourceDefinition/networksets.crd.projectcalico.org',
      'CustomResourceDefinition/globalnetworksets.crd.projectcalico.org',
      'CustomResourceDefinition/tiers.crd.projectcalico.org',
      'CustomResourceDefinition/ippools.crd.projectcalico.org',
      'CustomResourceDefinition/bgppeers.crd.projectcalico.org',
      'CustomResourceDefinition/bgpconfigurations.crd.projectcalico.org',
    ]);
    expect(crds({ ciliumCrds: true })).toEqual([
      'CustomResourceDefinition/ciliumnetworkpolicies.cilium.io',
      'CustomResourceDefinition/ciliumclusterwidenetworkpolicies.cilium.io',
    ]);
    expect(kinds(parseStream(renderOptionalCrds('calico')))).toEqual(crds({ calicoCrds: true }));
    expect(kinds(parseStream(renderOptionalCrds('cilium')))).toEqual(crds({ ciliumCrds: true }));
  });

  it('puts every namespaced object, subject and Secret setting in the namespace asked for', () => {
    const text = renderManifests({ namespace: 'net-agents' });
    expect(text).not.toContain('twill-system');
    const objects = parseStream(text);
    const namespaced = objects.filter((o) => (o['metadata'] as { namespace?: string }).namespace !== undefined);
    expect(kinds(namespaced)).toEqual(['ServiceAccount/twill-agent', 'Role/twill-agent', 'RoleBinding/twill-agent', 'ConfigMap/twill-agent', 'DaemonSet/twill-agent']);
    expect(namespaced.map((o) => (o['metadata'] as { namespace: string }).namespace)).toEqual(Array(5).fill('net-agents'));
    expect(objects.find((o) => o['kind'] === 'Namespace')?.['metadata']).toMatchObject({ name: 'net-agents' });
  });

  it('runs the image asked for, by default the published one tagged latest while the package is unreleased', () => {
    const images = (text: string): unknown[] => [...text.matchAll(/image: (\S+)/g)].map((m) => m[1]);
    expect(DEFAULT_IMAGE).toBe('ghcr.io/twill-dev/twill:latest');
    expect(images(renderManifests())).toEqual([DEFAULT_IMAGE, DEFAULT_IMAGE]);
    expect(images(renderManifests({ image: 'registry.example/twill:1.2.3' }))).toEqual(['registry.example/twill:1.2.3', 'registry.example/twill:1.2.3']);
  });

  it('knows the package version it tags images with', () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(AGENT_PACKAGE_VERSION).toBe(pkg.version);
  });

  it('refuses a namespace or image that cannot be used, naming the option', () => {
    expect(() => renderManifests({ namespace: 'Twill_System' })).toThrow(ManifestOptionsError);
    expect(() => renderManifests({ namespace: 'Twill_System' })).toThrow(
      'namespace: must be a DNS-1123 label (lower-case letters, digits and "-", at most 63 characters; got "Twill_System")',
    );
    expect(() => renderManifests({ namespace: 'a'.repeat(64) })).toThrow(/^namespace: must be a DNS-1123 label/);
    expect(() => manifestObjects({ image: 'twill latest' })).toThrow('image: must be an image reference without spaces, like "ghcr.io/twill-dev/twill:latest" (got "twill latest")');
    expect(() => manifestObjects({ image: '' })).toThrow(/^image: /);
  });

  it('writes no YAML anchors or aliases (shared schemas are written out each time)', () => {
    expect(renderManifests({ calicoCrds: true, ciliumCrds: true })).not.toMatch(/[&*][a-z]\d+\b/);
  });
});
