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

/** Why an upgrade was refused before `ws` saw it: the `reason` label of ws_upgrades_rejected_total. */
export type RejectReason = 'not_found' | 'origin' | 'capacity' | 'shutting_down' | AuthFailure;
