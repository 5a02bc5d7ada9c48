// Shared by the suites that run a real redis-server: is it up, and what does a rejoin with `since` replay.
import { connect } from 'node:net';
import { TestClient, type Json } from './client.ts';

/** True once a redis-server on 127.0.0.1:`port` answers PING with +PONG (within a second). */
export function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d: Buffer) => {
      reply += d.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

/** Joins `room` on `url` with `since` and reads the history frame and the messages it announces. */
export async function replayJoin(url: string, room: string, since: string): Promise<{ history: Json; texts: string[] }> {
  const c = await TestClient.connect(url);
  c.send({ type: 'join', room, name: 'reader', since });
  const history = await c.nextOf('history');
  const texts: string[] = [];
  for (let i = 0; i < Number(history.count); i++) texts.push(String((await c.nextOf('message')).text));
  c.close();
  return { history, texts };
}
