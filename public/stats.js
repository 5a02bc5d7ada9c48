// @ts-check
// The connection card's figures: the heartbeat live (the pings the library answered, and the
// interval between them; the connection log keeps state changes only), reconnects, since when the socket is open, and the acknowledgement
// round trip. Display only: the protocol is the library's.

/** @param {(id: string) => HTMLElement} $ */
export function createStats($) {
  let pings = 0;
  let lastPingAt = 0;
  let reconnects = 0;
  return {
    /** @param {number} at */
    ping(at) {
      pings++;
      const interval = lastPingAt ? Math.round(at - lastPingAt) : 0;
      lastPingAt = at;
      $('pings').textContent = String(pings);
      if (interval) $('interval').textContent = `${interval} ms`;
    },
    /** @param {number} ms */
    rtt(ms) {
      $('rtt').textContent = `${ms} ms (chat ack)`;
    },
    /** @param {string} at */
    opened(at) {
      $('since').textContent = at;
    },
    reconnected() {
      $('reconnects').textContent = String(++reconnects);
    },
    reset() {
      pings = reconnects = lastPingAt = 0;
      for (const id of ['pings', 'reconnects']) $(id).textContent = '0';
      $('interval').textContent = '–';
    },
  };
}
