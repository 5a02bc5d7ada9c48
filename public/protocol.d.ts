// Types of /protocol.js, which the server generates from src/protocol/ (src/http/client-protocol.ts).
export const WS_PATH: string;
export const NO_RETRY_CODES: number[];
export const CLOSE_CODES: Record<string, number>;
export const TYPING_TTL_MS: number;
export const AUTH_REQUIRED: boolean;
