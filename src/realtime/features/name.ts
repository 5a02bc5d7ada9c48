// Anonymous mode's display name: `{"type":"name","name":N}` renames the socket without leaving
// its rooms (`join` takes a name too, but leaves every room). Answered `{"type":"named"}`; with
// a token the token's name is the user's, so a rename is `forbidden`.
import { encode } from '../../protocol/messages.ts';
import { nameField, parsed, type Parsed } from '../../protocol/parse.ts';
import type { ClientSocket } from '../session.ts';
import { inbound, type Feature, type FeatureDeps } from './feature.ts';

export function parseName(fields: Record<string, unknown>): Parsed<{ name: string }> {
  const name = nameField(fields.name);
  return name.ok ? parsed({ name: name.message }) : name;
}

export function createName(deps: FeatureDeps): Feature {
  function rename(socket: ClientSocket, { name }: { name: string }): void {
    if (socket.session.identity) return deps.deny(socket, 'forbidden');
    socket.session.name = name;
    deps.sender.sendNow(socket, encode({ type: 'named', name }), 'named');
  }
  return { name: 'name', inbound: { name: inbound(parseName, rename) } };
}
