// Answers written straight to a socket, where Node has no ServerResponse to write with: a refused
// upgrade, or a request its HTTP parser gave up on. Always `Connection: close`: whatever the
// client sends next on it is not read.
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

export function answerRaw(socket: Duplex, status: number, body = '', headers: Readonly<Record<string, string>> = {}): void {
  if (!socket.writable) return void socket.destroy();
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const type = body ? 'Content-Type: text/plain; charset=utf-8\r\n' : '';
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\n${type}Content-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`);
}
