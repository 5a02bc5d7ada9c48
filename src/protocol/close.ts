// Close codes and reasons: the words a server and its clients use to end a socket. The browser
// client reads the same table (served as /protocol.js), so the two cannot drift apart.

export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  invalidPayload: 1007,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
  tryAgainLater: 1013,
  pongTimeout: 4000,
  tokenExpired: 4001,
  disconnected: 4003,
} as const;

export const CloseReason = {
  done: 'Done',
  shuttingDown: 'Server shutting down',
  unexpectedMessage: 'Unexpected message',
  expectedPong: "Expected 'pong'",
  rateLimited: 'Rate limit exceeded',
  slowConsumer: 'Slow consumer',
  pongTimeout: 'Pong timeout',
  tokenExpired: 'Token expired',
  disconnected: 'Disconnected by server',
  notDelivered: 'Message not delivered, try again',
  historyUnavailable: 'History unavailable, try again',
  subjectChanged: 'Token names another user',
  /** The memory budget (MEMORY_BUDGET_MB) is exceeded and this socket's unfinished message is among the largest held (1009). */
  budgetMessage: 'Message too big for server memory now',
  /** The memory budget is exceeded and this socket's unsent output is among the largest held (1013). */
  budgetOutput: 'Slow consumer, server memory full',
} as const;

/**
 * Codes no endpoint may send (RFC 6455 7.4.1) that `ws` reports on 'close': `noStatus` when the
 * peer's close frame carried no code, `abnormal` when the TCP connection ended with no close frame
 * received at all. Not in CloseCode: the server never closes with them, the client never sees them
 * from the server.
 */
export const ReportedCloseCode = {
  noStatus: 1005,
  abnormal: 1006,
} as const;

/** Every reason the server closes with: one of CloseReason, or a bad field named (`Invalid field: room`). */
export type CloseReasonText = (typeof CloseReason)[keyof typeof CloseReason] | `Invalid field: ${string}`;

/**
 * Close codes after which a client should not reconnect on its own. After 4001 it reconnects only
 * with a fresh token.
 */
export const NO_RETRY_CODES: readonly number[] = [CloseCode.normal, CloseCode.unsupportedData, CloseCode.policyViolation, CloseCode.tokenExpired, CloseCode.disconnected];
