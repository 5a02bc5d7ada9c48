// Load generator: a separate process (pinned by the harness to the core the server is not on)
// that opens the connections and drives one scenario at a time on the harness's command.
// Clients are `ws` (this service and the bare ws peer share the protocol) or socket.io-client.
// Every loop is bounded in count and time; timestamps are performance.timeOrigin + now().
import { connect } from './client/connect.ts';
import { replay } from './client/replay.ts';
import { roomsWindow, subscribeRooms } from './client/rooms.ts';
import { send, state } from './client/state.ts';
import { broadcast, echo, idle } from './client/windows.ts';
import type { Command } from './lib/types.ts';

process.on('message', (command: Command) => {
  const run = async (): Promise<void> => {
    switch (command.cmd) {
      case 'connect':
        return send({ reply: 'connect', result: await connect(command) });
      case 'idle':
        return send({ reply: 'window', result: await idle(command) });
      case 'echo':
        return send({ reply: 'window', result: await echo(command) });
      case 'broadcast':
        return send({ reply: 'window', result: await broadcast(command) });
      case 'replay':
        return send({ reply: 'replay', result: await replay(command) });
      case 'subscribe':
        return send({ reply: 'subscribe', result: await subscribeRooms(command) });
      case 'rooms':
        return send({ reply: 'window', result: await roomsWindow(command) });
      case 'exit':
        for (const conn of state.conns) {
          conn.open = false;
          conn.ws?.terminate();
          conn.sio?.disconnect();
        }
        setTimeout(() => process.exit(0), 50);
        return;
    }
  };
  run().catch((err: unknown) => send({ reply: 'error', message: String(err) }));
});
// A harness that dies must not leave this process behind.
process.on('disconnect', () => process.exit(0));
