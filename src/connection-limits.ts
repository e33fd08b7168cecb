import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** Why a connection was closed on arrival, or to make room. */
export type ConnectionRefusal = 'per_address' | 'server_full' | 'idle_evicted';

interface Open {
  address: string;
  /** Requests under way on it (headers read, answer not yet sent). */
  busy: number;
}

/**
 * Bounds the connections open at once (`server.max_connections`) and from one remote address
 * (`server.max_connections_per_address`). Node's own `maxConnections` closes every newcomer once
 * the server is full, so one address with idle keep-alive connections shut the ingress for
 * everyone: here a newcomer over the total closes the oldest idle connection (no request under
 * way: keep-alive between requests, or headers still arriving) instead, and is itself closed
 * only when every open connection has a request in progress.
 */
export function limitConnections(
  server: Server,
  limits: { max: number; perAddress: number },
  onRefused: (reason: ConnectionRefusal) => void,
): void {
  // Insertion order is arrival order: the first idle one found is the oldest.
  const open = new Map<Socket, Open>();
  const perAddress = new Map<string, number>();

  server.on('connection', (socket: Socket) => {
    // The socket's address, not a header: a header is the sender's to choose.
    const address = socket.remoteAddress ?? 'unknown';
    const count = perAddress.get(address) ?? 0;
    if (count >= limits.perAddress) return refuse(socket, 'per_address');
    if (open.size >= limits.max) {
      const idle = oldestIdle();
      if (idle === undefined) return refuse(socket, 'server_full');
      forget(idle);
      idle.destroy();
      onRefused('idle_evicted');
    }
    open.set(socket, { address, busy: 0 });
    perAddress.set(address, count + 1);
    socket.once('close', () => forget(socket));
  });

  server.on('request', (request: { socket: Socket }, response: NodeJS.EventEmitter) => {
    const state = open.get(request.socket);
    if (state === undefined) return;
    state.busy++;
    response.once('close', () => state.busy--);
  });

  function oldestIdle(): Socket | undefined {
    for (const [socket, state] of open) if (state.busy === 0) return socket;
    return undefined;
  }

  function forget(socket: Socket): void {
    const state = open.get(socket);
    if (state === undefined) return;
    open.delete(socket);
    const left = (perAddress.get(state.address) ?? 1) - 1;
    if (left === 0) perAddress.delete(state.address);
    else perAddress.set(state.address, left);
  }

  function refuse(socket: Socket, reason: ConnectionRefusal): void {
    socket.destroy();
    onRefused(reason);
  }
}
