/**
 * Orders two message ids of one room: the in-process broker counts 1, 2, 3...; Redis gives
 * "<ms>-<seq>". Negative, zero or positive; an id that is not one sorts first.
 * @param {string} a @param {string} b
 */
export function compareIds(a: string, b: string): 1 | 0 | -1;
/**
 * Full jitter: a random wait up to the capped exponential step (1 s doubling to 30 s), so
 * clients do not all come back in the same second.
 * @param {number} attempt @param {() => number} [random]
 */
export function backoffDelay(attempt: number, random?: () => number): number;
/** A fresh idempotency key (1-64 of A-Za-z0-9_-). */
export function randomKey(): string;
/** The server's WebSocket path. */
export const WS_PATH: "/ws";
/** How a client names its user's personal channel (identity mode). */
export const PERSONAL_ROOM: "@me";
export namespace CLOSE {
    let normal: 1000;
    let goingAway: 1001;
    let unsupportedData: 1003;
    let policyViolation: 1008;
    let tryAgainLater: 1013;
    let pongTimeout: 4000;
    let tokenExpired: 4001;
    let disconnected: 4003;
}
/** After these the server asks not to be reconnected to (4001 is retried, with a fresh token). */
export const NO_RETRY: readonly number[];
export type Message = {
    id: string;
    room: string;
    from: string;
    text: string;
    ts: number;
    sender?: "server";
    key?: string;
};
export type Welcome = {
    type: "welcome";
    id: string;
    room: string | null;
    name: string;
    user?: string;
    expiresAt?: number;
    last?: string;
};
export type Subscribed = {
    type: "subscribed";
    room: string;
    last: string;
};
export type Unsubscribed = {
    type: "unsubscribed";
    room: string;
    reason?: "server" | "forbidden";
};
export type HistoryFrame = {
    type: "history";
    room: string;
    since: string;
    truncated: boolean;
    count: number;
};
export type Presence = {
    type: "presence";
    room: string;
    members: number;
};
export type Typing = {
    type: "typing";
    room: string;
    names: string[];
    others: number;
};
export type Refreshed = {
    type: "refreshed";
    expiresAt: number;
};
export type Named = {
    type: "named";
    name: string;
};
export type ErrorReason = "forbidden" | "not_in_room" | "not_subscribed" | "too_many_rooms" | "token_invalid" | "rejected" | "hook_unavailable" | "busy";
export type ErrorFrame = {
    type: "error";
    reason: ErrorReason;
    room?: string;
    key?: string;
    detail?: string;
};
export type ServerFrame = Welcome | Subscribed | Unsubscribed | HistoryFrame | ({
    type: "message";
} & Message) | Presence | Typing | Refreshed | Named | ErrorFrame;
