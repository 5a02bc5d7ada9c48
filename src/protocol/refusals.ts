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
export type HttpRefusal = 'method' | 'host' | 'timeout' | 'headers_too_large' | 'bad_request';
