// The flows benchmark's second source, run as a child process in the node namespace:
// loads policy.bpf.o sharing the driver's pinned maps, then runs the pod-ingress program
// (BPF_PROG_TEST_RUN) on a crafted UDP datagram that policy denies, as if at an attached
// veth (struct __sk_buff ifindex), so each run writes one verdict to the driver's ring:
// the kernel's write path without the veths and the packet path's CPU.
// argv: pinRoot objectPath ifindex source destination port rate seconds.
// Prints "ready" when loaded, starts on a line on stdin, then prints the runs made.
import { createInterface } from 'node:readline';

import { loadCollection, readCollectionSpec } from '@twill/ebpf';

const [pinRoot = '', objectPath = '', ifindexText = '', source = '', destination = '', portText = '', rateText = '', secondsText = ''] = process.argv.slice(2);

function udpFrame(from: string, to: string, port: number): Uint8Array {
  const frame = new Uint8Array(14 + 20 + 8 + 16);
  const view = new DataView(frame.buffer);
  view.setUint16(12, 0x0800);
  frame.set([0x45, 0, 0, 44, 0, 0, 0, 0, 64, 17, 0, 0, ...from.split('.').map(Number), ...to.split('.').map(Number)], 14);
  view.setUint16(34, 40000);
  view.setUint16(36, port);
  view.setUint16(38, 24);
  return frame;
}

const collection = loadCollection(readCollectionSpec(objectPath), { pinPath: pinRoot });
const program = collection.program('tw_to_pod');
const ctx = new Uint8Array(192);
new DataView(ctx.buffer).setUint32(40, Number(ifindexText), true); // struct __sk_buff ifindex
const data = udpFrame(source, destination, Number(portText));
const rate = Number(rateText);
const seconds = Number(secondsText);
process.stdout.write('ready\n');

const lines = createInterface({ input: process.stdin });
lines.once('line', () => {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const chunk = 500;
  const start = performance.now();
  const end = start + seconds * 1000;
  let runs = 0;
  while (performance.now() < end) {
    program.testRun({ data, ctx, repeat: chunk });
    runs += chunk;
    if (rate > 0) {
      const ahead = start + (runs / rate) * 1000 - performance.now();
      if (ahead > 0) Atomics.wait(sleeper, 0, 0, ahead);
    }
  }
  collection.close();
  // stdin stays open (the parent's pipe): leave now.
  process.stdout.write(`${runs}\n`, () => process.exit(0));
});
