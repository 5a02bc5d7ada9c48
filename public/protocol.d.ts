// Types of /protocol.js, which the server generates from src/protocol/ (src/http/client-protocol.ts).
export const WS_PATH: string;
export const NO_RETRY_CODES: number[];
export const CLOSE_CODES: Record<string, number>;
export const TYPING_TTL_MS: number;
/** A room name as an HTML `pattern` attribute: valid under the `v` flag the browser compiles it with. */
export const ROOM_PATTERN_HTML: string;
/** Display names, in code points. */
export const NAME_MAX: number;
/** Chat text, in code points. */
export const TEXT_MAX: number;
/** `@me`: the user's personal channel, where the backend's notifications arrive. */
export const PERSONAL_ROOM: string;
export const AUTH_REQUIRED: boolean;
