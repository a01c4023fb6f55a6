// An API server address that accepts connections and never answers (a black-holed route
// or a hung apiserver), with a kubeconfig for it: for the request deadlines' tests.
import { createServer, type Socket } from 'node:net';

import * as k8s from '@kubernetes/client-node';

/** Listens on a loopback port that never answers; `closers` gets what stops it. */
export async function blackHole(closers: (() => Promise<void>)[]): Promise<k8s.KubeConfig> {
  const sockets = new Set<Socket>();
  const hole = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => hole.close(() => resolve()));
  });
  const { port } = hole.address() as { port: number };
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'hole', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'hole' }],
    contexts: [{ name: 'hole', cluster: 'hole', user: 'hole' }],
    currentContext: 'hole',
  });
  return kubeConfig;
}
