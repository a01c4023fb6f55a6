// resolv.conf to a CNI `dns` object, exactly as host-local reads `ipam.resolvConf`
// (plugins/ipam/host-local/dns.go): `nameserver` and `domain` take their first word,
// `search` and `options` every word, comments (`#`, `;`) and other keywords are skipped.
import { type Dns } from '@twill/cni-core';

/**
 * Parses the text of a resolv.conf into the DNS settings of a CNI result. Lines that
 * host-local ignores are ignored; a later `domain` replaces an earlier one.
 */
export function parseResolvConf(text: string): Dns {
  const nameservers: string[] = [];
  const search: string[] = [];
  const options: string[] = [];
  let domain: string | undefined;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const [keyword, ...words] = line.split(/\s+/u);
    if (words.length === 0) continue;
    switch (keyword) {
      case 'nameserver':
        nameservers.push(words[0] ?? '');
        break;
      case 'domain':
        domain = words[0];
        break;
      case 'search':
        search.push(...words);
        break;
      case 'options':
        options.push(...words);
        break;
    }
  }
  return {
    ...(nameservers.length > 0 ? { nameservers } : {}),
    ...(domain !== undefined ? { domain } : {}),
    ...(search.length > 0 ? { search } : {}),
    ...(options.length > 0 ? { options } : {}),
  };
}
