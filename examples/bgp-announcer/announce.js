#!/usr/bin/env node
// twill-announce: advertises prefixes to one BGP peer until it is stopped (Ctrl-C or
// SIGTERM), then withdraws them and ends the session with an Administrative Shutdown.
//
//   twill-announce --local-as 65001 --router-id 192.0.2.1 --peer 192.0.2.2 --peer-as 65000 \
//     10.20.0.0/24 10.21.0.0/16
import { isIP } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

import { BgpSpeaker, asn, createTcpTransport, parsePrefix, routerId, systemClock } from '@twill/bgp';

const USAGE = 'usage: twill-announce --local-as AS --router-id A.B.C.D --peer ADDRESS --peer-as AS PREFIX...';

function readOptions() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'local-as': { type: 'string' },
      'router-id': { type: 'string' },
      peer: { type: 'string' },
      'peer-as': { type: 'string' },
    },
  });
  const missing = ['local-as', 'router-id', 'peer', 'peer-as'].filter((name) => values[name] === undefined);
  if (missing.length > 0) throw new Error(`missing --${missing.join(', --')}\n${USAGE}`);
  if (positionals.length === 0) throw new Error(`no prefix to announce\n${USAGE}`);
  // @twill/bgp's constructors check their input and say what is wrong; we add where.
  const option = (name, parse) => {
    try {
      return parse(values[name]);
    } catch (error) {
      throw new Error(`--${name}: ${error.message}`);
    }
  };
  const ipAddress = (text) => {
    if (isIP(text) === 0) throw new Error(`${JSON.stringify(text)} is not an IP address`);
    return text;
  };
  const asNumber = (text) => {
    if (!/^\d+$/.test(text)) throw new Error(`${JSON.stringify(text)} is not an AS number`);
    return asn(Number(text)); // checks the range
  };
  return {
    localAs: option('local-as', asNumber),
    routerId: option('router-id', routerId),
    peer: { address: option('peer', ipAddress), asn: option('peer-as', asNumber) },
    prefixes: positionals.map((text) => parsePrefix(text)),
  };
}

async function main() {
  const options = readOptions();
  const speaker = new BgpSpeaker({
    localAs: options.localAs,
    routerId: options.routerId,
    transport: createTcpTransport(), // connects to the peer's port 179; listens nowhere
    clock: systemClock,
    fib: { apply() {} }, // an announcer installs none of the routes it hears
    logger: {
      info: (fields, message) => console.log(message, JSON.stringify(fields)),
      warn: (fields, message) => console.error(message, JSON.stringify(fields)),
    },
  });
  speaker.addPeer(options.peer);
  for (const prefix of options.prefixes) speaker.originate(prefix);
  await speaker.start();
  // The speaker's timers do not keep Node running (a library's must not): this does,
  // between connection attempts too, until the announcer is stopped.
  const running = setInterval(() => {}, 1 << 30);

  const stop = async () => {
    for (const prefix of options.prefixes) speaker.withdraw(prefix);
    // The withdrawal goes out with the speaker's next flush (some 20 ms); wait for it,
    // but not for ever: a peer that is not Established has been sent nothing.
    for (let waited = 0; waited < 2000 && speaker.peers().some((p) => p.advertisedPrefixes > 0); waited += 10) {
      await sleep(10);
    }
    await speaker.stop('twill-announce stopped'); // Cease / Administrative Shutdown (RFC 9003)
    clearInterval(running);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error) => {
  console.error(`twill-announce: ${error.message}`);
  process.exitCode = 2;
});
