// @ts-check
// Where the page's tokens come from (identity mode): the token field, filled by hand or from a
// link's #access_token=. The library asks for a token before every connect and before the token
// in use expires (it sends it in-band then, and the socket stays open); this decides what to give.

export class TokenSource {
  /**
   * @param {HTMLInputElement} input the token field, read at every ask: pasting a new token is all a user does
   * @param {(why: string) => void} ask shows the field and says why a new token is wanted
   */
  constructor(input, ask) {
    this.input = input;
    this.ask = ask;
    /** The token last given to the library: the one the socket holds. */
    this.held = '';
    /** A token the server said had expired (4001): connecting with it again would only be refused. */
    this.stale = '';
    /** @type {(() => void)[]} connects waiting for the user to paste a token */
    this.waiting = [];
  }

  /**
   * Takes a link's #access_token= into the field and out of the address bar at once, so it is
   * not bookmarked or shared.
   * @param {Location} location @param {History} history
   */
  fromLink(location, history) {
    const token = new URLSearchParams(location.hash.slice(1)).get('access_token');
    if (!token) return;
    this.input.value = token;
    history.replaceState(null, '', location.pathname + location.search);
  }

  current() {
    return this.input.value.trim();
  }

  /**
   * The library's getToken. `refreshing` (the socket is open): only a token other than the one it
   * holds helps; without one this throws, and the library asks again a little later, instead of
   * refreshing with the same token ever closer to its expiry. Connecting: the field's token,
   * unless it is empty or known expired, in which case the connect waits for a new one.
   * @param {boolean} refreshing @returns {string | Promise<string>}
   */
  get(refreshing) {
    const token = this.current();
    if (refreshing && token === this.held) {
      this.ask('token expires soon: paste a fresh one');
      throw new Error('no fresh token yet');
    }
    if (!refreshing && (!token || token === this.stale)) {
      this.ask(token ? 'token expired: paste a new one' : 'this server needs a token');
      return new Promise((resolve) => this.waiting.push(() => resolve(undefined))).then(() => this.get(false));
    }
    this.held = token;
    return token;
  }

  /** The server closed with 4001: the token the socket held has run out. */
  expired() {
    this.stale = this.held;
  }

  /** The user gave a token: connects waiting for one go on with it. */
  given() {
    for (const resume of this.waiting.splice(0)) resume();
  }

  /** The page stopped: the waiting connects belong to a closed client, which will not connect. */
  cancel() {
    this.waiting = [];
  }
}
