// The client library keeps its own copy of the wire vocabulary (client/ can be copied alone);
// these checks fail when it drifts from the server's (src/protocol/). The frame types are checked
// both ways by the compiler (`npm run build`): the assignments below stop compiling on drift.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLOSE, compareIds, NO_RETRY, PERSONAL_ROOM, WS_PATH, type ServerFrame } from '../../client/protocol.js';
import { CloseCode, NO_RETRY_CODES } from '../../src/protocol/close.ts';
import { compareIdText } from '../../src/protocol/ids.ts';
import type { ChatMessage, ErrorReason, Outbound } from '../../src/protocol/messages.ts';
import { WS_PATH as SERVER_WS_PATH } from '../../src/protocol/path.ts';
import { PERSONAL_ROOM as SERVER_PERSONAL_ROOM } from '../../src/protocol/rooms.ts';
import type { TypingFrame } from '../../src/realtime/features/typing.ts';

type ClientFrame<T extends ServerFrame['type']> = Extract<ServerFrame, { type: T }>;
type ServerSent = Outbound | TypingFrame;
type ServerFrameOf<T extends string> = Extract<ServerSent, { type: T }>;

// What the server sends, the client reads, and nothing the client expects is missing: each way.
const clientReadsServer = {
  welcome: (f: ServerFrameOf<'welcome'>): ClientFrame<'welcome'> => f,
  subscribed: (f: ServerFrameOf<'subscribed'>): ClientFrame<'subscribed'> => f,
  unsubscribed: (f: ServerFrameOf<'unsubscribed'>): ClientFrame<'unsubscribed'> => f,
  history: (f: ServerFrameOf<'history'>): ClientFrame<'history'> => f,
  message: (f: ServerFrameOf<'message'>): ClientFrame<'message'> => f,
  presence: (f: ServerFrameOf<'presence'>): ClientFrame<'presence'> => f,
  typing: (f: ServerFrameOf<'typing'>): ClientFrame<'typing'> => f,
  refreshed: (f: ServerFrameOf<'refreshed'>): ClientFrame<'refreshed'> => f,
  named: (f: ServerFrameOf<'named'>): ClientFrame<'named'> => f,
  error: (f: ServerFrameOf<'error'>): ClientFrame<'error'> => f,
};
const serverSendsClient = {
  welcome: (f: ClientFrame<'welcome'>): ServerFrameOf<'welcome'> => f,
  subscribed: (f: ClientFrame<'subscribed'>): ServerFrameOf<'subscribed'> => f,
  unsubscribed: (f: ClientFrame<'unsubscribed'>): ServerFrameOf<'unsubscribed'> => f,
  history: (f: ClientFrame<'history'>): ServerFrameOf<'history'> => f,
  message: (f: ClientFrame<'message'>): ServerFrameOf<'message'> => f,
  presence: (f: ClientFrame<'presence'>): ServerFrameOf<'presence'> => f,
  typing: (f: ClientFrame<'typing'>): ServerFrameOf<'typing'> => f,
  refreshed: (f: ClientFrame<'refreshed'>): ServerFrameOf<'refreshed'> => f,
  named: (f: ClientFrame<'named'>): ServerFrameOf<'named'> => f,
  error: (f: ClientFrame<'error'>): ServerFrameOf<'error'> => f,
};
const reasons = (r: ErrorReason): ClientFrame<'error'>['reason'] => r;
const message = (m: ChatMessage): Omit<ClientFrame<'message'>, 'type'> => m;

test('every frame type the server sends is one the client reads (and the compiler checked their fields both ways)', () => {
  assert.deepEqual(Object.keys(clientReadsServer).sort(), Object.keys(serverSendsClient).sort());
  assert.equal(typeof reasons, 'function');
  assert.equal(typeof message, 'function');
});

test('the close codes, the no-retry set (4001 retried with a fresh token), @me and the path are the server\'s', () => {
  for (const [name, code] of Object.entries(CLOSE)) assert.equal(CloseCode[name as keyof typeof CloseCode], code, name);
  assert.deepEqual([...NO_RETRY, CLOSE.tokenExpired].sort(), [...NO_RETRY_CODES].sort());
  assert.equal(PERSONAL_ROOM, SERVER_PERSONAL_ROOM);
  assert.equal(WS_PATH, SERVER_WS_PATH);
});

test('the client orders message ids as the server does', () => {
  const ids = ['1', '2', '10', '9', '1700000000000-0', '1700000000000-1', '1699999999999-99', '18446744073709551615-3', 'x', ''];
  for (const a of ids) for (const b of ids) assert.equal(Math.sign(compareIds(a, b)), Math.sign(compareIdText(a, b)), `${a} vs ${b}`);
});
