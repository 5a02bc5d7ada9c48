/** Why an upgrade was refused before `ws` saw it: the `reason` label of ws_upgrades_rejected_total. */
export type RejectReason = 'not_found' | 'origin' | 'capacity' | 'shutting_down';
