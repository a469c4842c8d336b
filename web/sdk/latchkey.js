// latchkey.js: the browser client of Latchkey. A dependency-free ES module.
//
// The access token lives in this object's memory only, never in storage;
// the refresh token stays in the HttpOnly cookie the server sets, which no
// script can read. Tabs of one origin share their access token over a
// BroadcastChannel and take turns refreshing under a Web Lock, so several
// open tabs cause one refresh, not a race of rotations.

const LOCK = "latchkey:refresh";
const CHANNEL = "latchkey";

/** An answer of the API that is not a success. */
export class LatchkeyError extends Error {
  constructor(status, body) {
    super((body && body.error) || `Request failed with status ${status}`);
    this.name = "LatchkeyError";
    this.status = status;
    this.code = (body && body.code) || "http_" + status;
    this.fields = (body && body.fields) || {};
  }
}

/** A client for one Latchkey server. */
export class Latchkey {
  #api;
  #ahead;
  #token = null;
  #expiresAt = 0;
  #inflight = null;
  #waiters = [];
  #channel = null;
  #listeners = new Set();

  /**
   * @param {object} [options]
   * @param {string} [options.apiBase] where the auth routes live; "/api/auth".
   * @param {number} [options.refreshAhead] seconds before expiry at which the
   *   next request refreshes first; 30.
   */
  constructor({ apiBase = "/api/auth", refreshAhead = 30 } = {}) {
    this.#api = apiBase.replace(/\/$/, "");
    this.#ahead = refreshAhead * 1000;
    if (typeof BroadcastChannel === "function") {
      this.#channel = new BroadcastChannel(CHANNEL);
      this.#channel.onmessage = (e) => this.#receive(e.data);
    }
  }

  /** Reports whether this tab holds an access token. */
  get signedIn() {
    return this.#token !== null;
  }

  /**
   * Calls fn with "signedout" when the session ends, here or in another tab.
   * Returns a function that removes fn.
   */
  onChange(fn) {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /**
   * Signs in with a password. Resolves to {user} when signed in, or to
   * {mfaRequired: true, mfaToken, methods} when a second factor is needed:
   * then call loginMFA.
   */
  async login(email, password) {
    const body = await this.#post("/login", { email, password });
    if (body.mfaRequired) {
      return { mfaRequired: true, mfaToken: body.mfaToken, methods: body.methods };
    }
    this.#adopt(body, true);
    return { user: body.user };
  }

  /**
   * Completes a login with a TOTP code ({code}) or a backup code
   * ({backupCode}). Resolves to {user, backupCodesRemaining?}.
   */
  async loginMFA(mfaToken, { code, backupCode } = {}) {
    const body = await this.#post("/login/mfa", { mfaToken, code, backupCode });
    this.#adopt(body, true);
    return { user: body.user, backupCodesRemaining: body.backupCodesRemaining };
  }

  /** Creates an account and signs in. Resolves to {user}. */
  async register({ email, password, username } = {}) {
    const body = await this.#post("/register", { email, password, username });
    this.#adopt(body, true);
    return { user: body.user };
  }

  /** Signs out this session, or every session with {all: true}. */
  async logout({ all = false } = {}) {
    try {
      if (this.#token !== null) {
        await this.fetch(this.#api + "/logout", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ all }),
        });
      }
    } finally {
      this.#signedOut(true);
    }
  }

  /**
   * Takes an access token from the refresh cookie when this tab has none,
   * as a page does when it opens. Resolves to true when signed in.
   */
  async restore() {
    try {
      await this.accessToken();
      return true;
    } catch (err) {
      if (err instanceof LatchkeyError && err.status === 401) return false;
      throw err;
    }
  }

  /** Resolves to a live access token, refreshing first if need be. */
  async accessToken() {
    if (this.#token === null || Date.now() >= this.#expiresAt - this.#ahead) {
      return this.#refresh(this.#token);
    }
    return this.#token;
  }

  /**
   * fetch with the bearer token. A 401 refreshes the token once and tries
   * again; a second 401 is returned as it is.
   */
  async fetch(input, init = {}) {
    let tok = await this.accessToken();
    let res = await fetch(input, this.#withBearer(init, tok));
    if (res.status !== 401) return res;
    tok = await this.#refresh(tok);
    res = await fetch(input, this.#withBearer(init, tok));
    return res;
  }

  /**
   * Calls an API route under apiBase with JSON and resolves to the parsed
   * answer, or rejects with a LatchkeyError.
   */
  async request(method, path, body) {
    const init = { method, headers: {} };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return parse(await this.fetch(this.#api + path, init));
  }

  /** Stops listening to other tabs. */
  close() {
    if (this.#channel) this.#channel.close();
  }

  #withBearer(init, tok) {
    const headers = new Headers(init.headers || {});
    headers.set("Authorization", "Bearer " + tok);
    return { ...init, headers, credentials: "same-origin" };
  }

  async #post(path, body) {
    const res = await fetch(this.#api + path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body),
    });
    return parse(res);
  }

  // refresh replaces stale, the token that was found expired or refused,
  // once for every tab of this origin.
  #refresh(stale) {
    if (this.#inflight) return this.#inflight;
    this.#inflight = this.#exclusively(async (waited) => {
      if (this.#fresh(stale)) return this.#token;
      if (waited) {
        // Another tab was refreshing when this one asked: its new token is
        // on its way over the channel.
        const tok = await this.#shared(stale, 2000);
        if (tok !== null) return tok;
      }
      return this.#rotate();
    }).finally(() => {
      this.#inflight = null;
    });
    return this.#inflight;
  }

  #fresh(stale) {
    return this.#token !== null && this.#token !== stale &&
      Date.now() < this.#expiresAt - this.#ahead;
  }

  // exclusively runs fn(waited) under the tabs' refresh lock; waited tells
  // whether another tab held it first. Without Web Locks every tab refreshes
  // on its own, which the server's grace window for rotated tokens absorbs.
  #exclusively(fn) {
    if (typeof navigator === "undefined" || !navigator.locks) return fn(false);
    return navigator.locks.request(LOCK, { ifAvailable: true }, (lock) => {
      if (lock) return fn(false);
      return navigator.locks.request(LOCK, () => fn(true));
    });
  }

  // shared resolves to a token other than stale once another tab sends one,
  // or to null after ms.
  #shared(stale, ms) {
    if (this.#fresh(stale)) return Promise.resolve(this.#token);
    return new Promise((resolve) => {
      const waiter = { stale, resolve };
      this.#waiters.push(waiter);
      setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(null);
      }, ms);
    });
  }

  async #rotate() {
    const res = await fetch(this.#api + "/refresh", {
      method: "POST",
      credentials: "same-origin",
    });
    if (res.status === 401) {
      const err = new LatchkeyError(401, await res.json().catch(() => null));
      this.#signedOut(true);
      throw err;
    }
    const body = await parse(res);
    this.#adopt(body, true);
    return this.#token;
  }

  // adopt keeps a new access token and, when share is set, hands it to the
  // other tabs. Tabs that get it need not refresh.
  #adopt(body, share) {
    this.#token = body.accessToken;
    this.#expiresAt = body.expiresAt || Date.now() + body.expiresIn * 1000;
    if (share && this.#channel) {
      this.#channel.postMessage({
        type: "token",
        accessToken: this.#token,
        expiresAt: this.#expiresAt,
      });
    }
    const ready = this.#waiters.filter((w) => w.stale !== this.#token);
    this.#waiters = this.#waiters.filter((w) => w.stale === this.#token);
    for (const w of ready) w.resolve(this.#token);
  }

  #receive(msg) {
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "token" && typeof msg.accessToken === "string") {
      if (msg.expiresAt > this.#expiresAt || this.#token === null) this.#adopt(msg, false);
    } else if (msg.type === "signedout") {
      this.#signedOut(false);
    }
  }

  #signedOut(share) {
    const was = this.#token !== null;
    this.#token = null;
    this.#expiresAt = 0;
    if (share && this.#channel) this.#channel.postMessage({ type: "signedout" });
    if (was || !share) for (const fn of this.#listeners) fn("signedout");
  }
}

async function parse(res) {
  if (res.status === 204) return {};
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new LatchkeyError(res.status, body);
  return body || {};
}
