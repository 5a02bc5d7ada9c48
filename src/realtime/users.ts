import type { ClientSocket } from './session.ts';

/** The open sockets of each user (identity mode), so the server API can disconnect one user everywhere. */
export interface Users {
  add(socket: ClientSocket): void;
  remove(socket: ClientSocket): void;
  socketsOf(sub: string): readonly ClientSocket[];
}

export function createUsers(): Users {
  const bySub = new Map<string, Set<ClientSocket>>();
  return {
    add(socket) {
      const sub = socket.session.identity?.sub;
      if (sub === undefined) return;
      let sockets = bySub.get(sub);
      if (!sockets) bySub.set(sub, (sockets = new Set()));
      sockets.add(socket);
    },
    remove(socket) {
      const sub = socket.session.identity?.sub;
      const sockets = sub === undefined ? undefined : bySub.get(sub);
      if (!sockets?.delete(socket) || sockets.size > 0 || sub === undefined) return;
      bySub.delete(sub);
    },
    socketsOf: (sub) => [...(bySub.get(sub) ?? [])],
  };
}
