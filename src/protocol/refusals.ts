/** Why a token was refused: part of the `reason` label of ws_upgrades_rejected_total and of the log line. */
export type AuthFailure =
  | 'token_missing'
  | 'token_malformed'
  | 'token_algorithm'
  | 'token_signature'
  | 'token_unknown_key'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_issuer'
  | 'token_audience'
  | 'token_claims'
  | 'jwks_unavailable';

/** Why an upgrade was refused: the `reason` label of ws_upgrades_rejected_total. */
export type RejectReason =
  | 'not_found'
  | 'origin'
  | 'capacity'
  /** Past the memory budget (MEMORY_BUDGET_MB): 503 until what clients make the server hold is back under it. */
  | 'memory'
  | 'shutting_down'
  /** Host (or X-Forwarded-Host behind a trusted proxy) not in ALLOWED_HOSTS, or sent twice. */
  | 'host'
  /** Not GET. */
  | 'method'
  /** Sec-WebSocket-Version other than 13. */
  | 'version'
  /** Refused by `ws` itself: bad Upgrade, Sec-WebSocket-Key or Sec-WebSocket-Protocol. */
  | 'handshake'
  | AuthFailure;

/** Why a plain HTTP request was refused: the `reason` label of ws_http_refused_total. */
export type HttpRefusal =
  | 'method'
  | 'host'
  /** Headers not complete within HTTP_HEADERS_TIMEOUT_MS (408). */
  | 'timeout'
  | 'headers_too_large'
  | 'bad_request'
  /** A new connection past MAX_HTTP_CONNECTIONS (503). */
  | 'http_connections'
  /** A body still arriving HTTP_BODY_TIMEOUT_MS after its headers (408). */
  | 'body_timeout';
