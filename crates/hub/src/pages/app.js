// The hub's own pages, /status and /board: plain JavaScript, no build step,
// nothing loaded from elsewhere. Both read the hub's REST API and follow its
// WebSocket anonymously, resuming after a drop from the newest seq seen
// (`?since=&epoch=`), so a status never sticks at an old value.
"use strict";

(() => {
  const LANGS = ["en", "ko", "nl", "de"];
  const LANG_KEY = "countertop.pages.lang";
  /** Reconnect waits: 1 s, doubling, at most 10 s, forever. */
  const BACKOFF_FIRST_MS = 1000;
  const BACKOFF_MAX_MS = 10000;
  /** A socket that answers no ping within this long is taken for dead. */
  const PING_EVERY_MS = 25000;
  const PONG_WITHIN_MS = 10000;
  /** The board reads its list again this often, for the day's turn (the
   * board topic tells of new orders and status changes as they happen). */
  const BOARD_REFRESH_MS = 30000;
  /** A number not found yet (an order still on its way) is looked up again. */
  const NOT_FOUND_RETRY_MS = 10000;
  const NOT_FOUND_RETRIES = 60;
  const MAX_NUMBER = 9999;

  // ------------------------------------------------------------ language

  const strings = JSON.parse(document.getElementById("strings").textContent);
  const select = document.getElementById("lang");
  let lang = LANGS.includes(document.documentElement.lang) ? document.documentElement.lang : "en";
  const remembered = readStored(LANG_KEY);
  if (LANGS.includes(remembered)) lang = remembered;

  function readStored(key) {
    try {
      return window.localStorage.getItem(key);
    } catch {
      return null; // storage off (private mode): the header's choice stands
    }
  }

  function t(key, vars) {
    const text = (strings[lang] && strings[lang][key]) || strings.en[key] || key;
    return text.replace(/\{(\w+)\}/g, (all, name) => (vars && name in vars ? String(vars[name]) : all));
  }

  const languageListeners = [];

  function applyLanguage() {
    document.documentElement.lang = lang;
    select.value = lang;
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const listener of languageListeners) listener();
  }

  select.addEventListener("change", () => {
    if (!LANGS.includes(select.value)) return;
    lang = select.value;
    try {
      window.localStorage.setItem(LANG_KEY, lang);
    } catch {
      // not remembered, still switched
    }
    applyLanguage();
  });

  // ------------------------------------------------------- live indicator

  const liveBadge = document.getElementById("live");
  const liveText = liveBadge.querySelector(".live-text");
  let everLive = false;

  function showLive(up) {
    if (up) everLive = true;
    liveBadge.dataset.state = up ? "live" : "reconnecting";
    const key = up ? "live.live" : everLive ? "live.reconnecting" : "live.connecting";
    liveText.dataset.i18n = key;
    liveText.textContent = t(key);
  }

  // ---------------------------------------------------------------- REST

  class HttpError extends Error {
    constructor(status, code) {
      super(`HTTP ${status} ${code}`);
      this.status = status;
      this.code = code;
    }
  }

  async function getJson(path) {
    const res = await fetch(path, { cache: "no-store", credentials: "omit" });
    if (!res.ok) {
      let code = "";
      try {
        code = (await res.json()).error.code;
      } catch {
        // not the hub's error shape
      }
      throw new HttpError(res.status, code);
    }
    return res.json();
  }

  // ----------------------------------------------------------- the socket

  /**
   * One resumable WebSocket over `topics`. `load()` reads the state by REST
   * and answers `{seq, epoch}`, the point the socket then reads from; it
   * runs first, after a `resync`, and whenever `reload()` asks. `onEvent`
   * gets each durable event once, in seq order.
   */
  class Live {
    constructor({ topics, load, onEvent, onError }) {
      this.topics = topics;
      this.load = load;
      this.onEvent = onEvent;
      this.onError = onError || (() => {});
      this.ws = null;
      this.epoch = null;
      this.cursor = null; // the newest seq seen; null: read the state first
      this.attempt = 0;
      this.timer = 0;
      this.pingTimer = 0;
      this.pongTimer = 0;
      this.stopped = false;
      this.running = false;
    }

    start() {
      this.stopped = false;
      this.cycle();
    }

    stop() {
      this.stopped = true;
      clearTimeout(this.timer);
      this.drop();
    }

    /** Reads the state again and reconnects from it (after `resync`). */
    reload() {
      this.cursor = null;
      this.drop();
      this.cycle();
    }

    /** A nudge: the page came back to the front or the network returned. */
    check() {
      if (this.stopped) return;
      if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ping();
      else if (this.ws && this.ws.readyState === WebSocket.CONNECTING) return;
      else if (!this.running) {
        clearTimeout(this.timer);
        this.attempt = 0;
        this.cycle();
      }
    }

    drop() {
      clearInterval(this.pingTimer);
      clearTimeout(this.pongTimer);
      const ws = this.ws;
      this.ws = null;
      if (ws) {
        ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
        try {
          ws.close(1000);
        } catch {
          // already closing
        }
      }
    }

    async cycle() {
      if (this.stopped || this.running) return;
      this.running = true;
      try {
        if (this.cursor === null) {
          const from = await this.load();
          if (this.stopped) return;
          this.cursor = from.seq;
          this.epoch = from.epoch;
        }
        this.connect();
      } catch (e) {
        console.warn("countertop: cannot reach the hub", e);
        this.retryLater();
      } finally {
        this.running = false;
      }
    }

    retryLater() {
      if (this.stopped) return;
      showLive(false);
      const wait = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
      this.attempt = Math.min(this.attempt + 1, 10);
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.cycle(), wait);
    }

    connect() {
      this.drop();
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      let query = `topics=${encodeURIComponent(this.topics)}`;
      if (this.cursor !== null && this.epoch) {
        query += `&since=${this.cursor}&epoch=${encodeURIComponent(this.epoch)}`;
      }
      const ws = new WebSocket(`${scheme}//${location.host}/ws?${query}`);
      this.ws = ws;
      ws.onmessage = (m) => this.frame(m.data);
      ws.onclose = () => {
        if (this.ws !== ws) return;
        this.drop();
        this.retryLater();
      };
    }

    ping() {
      const ws = this.ws;
      if (!ws || ws.readyState !== WebSocket.OPEN) return;
      clearTimeout(this.pongTimer);
      try {
        ws.send('{"type":"ping"}');
      } catch {
        return;
      }
      // No answer in time: a dead network the browser has not noticed.
      this.pongTimer = setTimeout(() => {
        if (this.ws !== ws) return;
        this.drop();
        this.retryLater();
      }, PONG_WITHIN_MS);
    }

    frame(text) {
      let f;
      try {
        f = JSON.parse(text);
      } catch {
        return;
      }
      if (!f || typeof f.event !== "string") return;
      const data = f.data || {};
      switch (f.event) {
        case "welcome":
          if (typeof data.epoch === "string" && this.epoch === null) this.epoch = data.epoch;
          this.attempt = 0;
          showLive(true);
          clearInterval(this.pingTimer);
          this.pingTimer = setInterval(() => this.ping(), PING_EVERY_MS);
          return;
        case "pong":
          clearTimeout(this.pongTimer);
          return;
        case "replayed":
          if (typeof data.to === "number" && data.to > this.cursor) this.cursor = data.to;
          return;
        case "resync":
          this.reload();
          return;
        case "error":
          this.onError(data);
          return;
        default:
          if (typeof f.seq !== "number") return;
          if (this.cursor !== null && f.seq <= this.cursor) return; // seen already
          this.cursor = f.seq;
          this.onEvent(f.event, data, f.seq);
      }
    }
  }

  /** Checks the page's socket when the page comes back to the front (a phone
   * wakes up) or the network returns, rather than at the next ping. */
  function whenAwake(current) {
    const check = () => {
      const live = current();
      if (live) live.check();
    };
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") check();
    });
    window.addEventListener("online", check);
    window.addEventListener("pageshow", check);
  }

  // -------------------------------------------------------------- /status

  function statusPage() {
    const form = document.getElementById("lookup");
    const input = document.getElementById("number");
    const card = document.getElementById("card");
    const followedEl = document.getElementById("followed");
    const statusEl = document.getElementById("status");
    const wordEl = statusEl.querySelector(".word");
    const iconEl = statusEl.querySelector(".icon");
    const hintEl = document.getElementById("hint");
    // MAKING's icon is a ring drawn by the style sheet.
    const ICONS = { READY: "✓", CANCELLED: "✕", not_found: "?" };

    // What is followed: the number, the order it is today, its status.
    let followed = null; // { n, orderId, status, hint }
    let live = null;
    let retryTimer = 0;

    function show() {
      const status = followed ? followed.status : "none";
      card.dataset.status = status;
      statusEl.dataset.status = status;
      followedEl.textContent = followed ? String(followed.n) : "–";
      const known = status !== "none";
      wordEl.textContent = known ? t(`status.${status}`) : "";
      iconEl.textContent = ICONS[status] || "";
      let hint;
      if (!followed) hint = t(followed === null && input.dataset.invalid ? "status.invalid" : "status.none");
      else if (status === "none") hint = t("status.loading");
      else hint = t(`status.${status}.hint`, { n: followed.n });
      hintEl.textContent = hint;
      document.title = followed && known ? `${followed.n} · ${t(`status.${status}`)}` : t("status.title");
    }

    function setStatus(status) {
      if (!followed) return;
      const was = followed.status;
      followed.status = status;
      show();
      if (status === "READY" && was !== "READY" && was !== "none" && navigator.vibrate) {
        try {
          navigator.vibrate([200, 100, 200]);
        } catch {
          // not allowed here
        }
      }
    }

    function follow(n) {
      clearTimeout(retryTimer);
      if (live) live.stop();
      followed = { n, orderId: null, status: "none", tries: 0 };
      show();
      const current = followed;
      live = new Live({
        topics: `board:${n}`,
        load: async () => {
          // The seq first, then the status: the socket replays from that seq,
          // so a change made between the two reads arrives again, in order.
          const health = await getJson("/healthz");
          try {
            const found = await getJson(`/api/orders/lookup?dailyNum=${n}`);
            if (followed !== current) return health;
            current.orderId = found.orderId;
            setStatus(found.status);
          } catch (e) {
            if (!(e instanceof HttpError && e.status === 404)) throw e;
            if (followed === current) notFound(current);
          }
          return health;
        },
        onEvent: (name, data) => {
          if (followed !== current) return;
          if (name !== "order:status_changed" && name !== "order:created") return;
          if (data.dailyNum !== n) return;
          // board:{n} is today's order n; after midnight that is another one.
          if (current.orderId && data.orderId !== current.orderId) return;
          if (typeof data.status === "string") setStatus(data.status);
        },
        onError: (data) => {
          if (followed !== current) return;
          if (data.code === "not_found" || data.code === "forbidden") notFound(current);
        },
      });
      live.start();
    }

    /** No order n today (yet: a kiosk offline may still send it). */
    function notFound(current) {
      if (current.orderId === null) setStatus("not_found");
      clearTimeout(retryTimer);
      if (current.tries >= NOT_FOUND_RETRIES) return;
      current.tries += 1;
      retryTimer = setTimeout(async () => {
        if (followed !== current) return;
        try {
          await getJson(`/api/orders/lookup?dailyNum=${current.n}`);
          if (followed === current) follow(current.n); // there now: follow it afresh
        } catch {
          if (followed === current) notFound(current);
        }
      }, NOT_FOUND_RETRY_MS);
    }

    function parseNumber(text) {
      const digits = String(text || "").trim();
      if (!/^[0-9]{1,4}$/.test(digits)) return null;
      const n = Number(digits);
      return n >= 1 && n <= MAX_NUMBER ? n : null;
    }

    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const n = parseNumber(input.value);
      if (n === null) {
        input.dataset.invalid = "1";
        input.setAttribute("aria-invalid", "true");
        if (!followed) show();
        else hintEl.textContent = t("status.invalid");
        input.focus();
        return;
      }
      delete input.dataset.invalid;
      input.removeAttribute("aria-invalid");
      const url = new URL(location.href);
      url.searchParams.set("n", String(n));
      history.replaceState(null, "", url);
      input.blur();
      follow(n);
    });

    input.addEventListener("input", () => {
      const digits = input.value.replace(/[^0-9]/g, "").slice(0, 4);
      if (digits !== input.value) input.value = digits;
    });

    languageListeners.push(show);

    const asked = parseNumber(new URL(location.href).searchParams.get("n"));
    if (asked !== null) {
      input.value = String(asked);
      follow(asked);
    } else {
      show();
      // Nothing followed yet: the socket reads no topic, and only tells
      // whether the hub is reachable.
      live = new Live({
        topics: "",
        load: () => getJson("/healthz"),
        onEvent: () => {},
      });
      live.start();
    }
    whenAwake(() => live);
  }

  // --------------------------------------------------------------- /board

  function boardPage() {
    const preparingEl = document.getElementById("preparing");
    const readyEl = document.getElementById("ready");
    const GONE = ["COMPLETED", "CANCELLED"];

    // orderId → {dailyNum, status}: today's open orders as of `seq`.
    let orders = new Map();
    let seq = 0;
    // Events since the last list was asked for, replayed over it when it comes.
    let recent = [];
    let shownReady = null;

    function apply(orderId, dailyNum, status) {
      if (GONE.includes(status)) orders.delete(orderId);
      else orders.set(orderId, { dailyNum, status });
    }

    function size(count) {
      if (count <= 9) return "l";
      if (count <= 20) return "m";
      if (count <= 35) return "s";
      return "xs";
    }

    function fill(list, nums, fresh) {
      const same =
        list.children.length === nums.length &&
        nums.every((n, i) => list.children[i].dataset.num === String(n));
      list.dataset.size = size(nums.length);
      if (same) return;
      list.replaceChildren(
        ...nums.map((n) => {
          const li = document.createElement("li");
          li.dataset.num = String(n);
          li.textContent = String(n);
          if (fresh && fresh.has(n)) li.className = "fresh";
          return li;
        }),
      );
    }

    function render() {
      const all = [...orders.values()].sort((a, b) => a.dailyNum - b.dailyNum);
      const preparing = all.filter((o) => o.status !== "READY").map((o) => o.dailyNum);
      const ready = all.filter((o) => o.status === "READY").map((o) => o.dailyNum);
      // Numbers that just became ready flash, but not on the first paint.
      const fresh = shownReady ? new Set(ready.filter((n) => !shownReady.has(n))) : null;
      shownReady = new Set(ready);
      fill(preparingEl, preparing, null);
      fill(readyEl, ready, fresh);
    }

    let loading = null;

    /** Reads the list (once at a time) and answers the point it is as of. */
    function loadList() {
      if (!loading) loading = readList().finally(() => (loading = null));
      return loading;
    }

    async function readList() {
      recent = [];
      const snapshot = await getJson("/api/snapshot");
      const next = new Map();
      for (const o of snapshot.board || []) next.set(o.orderId, { dailyNum: o.dailyNum, status: o.status });
      orders = next;
      seq = snapshot.seq;
      // Events that came while the list was on its way and are newer than it.
      for (const e of recent) if (e.seq > seq) apply(e.orderId, e.dailyNum, e.status);
      recent = [];
      render();
      return { seq: snapshot.seq, epoch: snapshot.epoch };
    }

    const live = new Live({
      topics: "board",
      load: loadList,
      onEvent: (name, data, eventSeq) => {
        if (name !== "order:status_changed" && name !== "order:created") return;
        if (typeof data.orderId !== "string" || typeof data.dailyNum !== "number") return;
        recent.push({ seq: eventSeq, orderId: data.orderId, dailyNum: data.dailyNum, status: data.status });
        if (recent.length > 1000) recent.shift();
        if (eventSeq <= seq) return;
        apply(data.orderId, data.dailyNum, data.status);
        render();
      },
    });
    whenAwake(() => live);
    live.start();

    // Read the list again now and then, with the socket left as it is.
    setInterval(async () => {
      if (live.ws === null || live.ws.readyState !== WebSocket.OPEN) return;
      try {
        const epoch = live.epoch;
        const from = await loadList();
        if (from.epoch !== epoch) live.reload(); // a wiped log: start over
      } catch (e) {
        console.warn("countertop: cannot read the board", e);
      }
    }, BOARD_REFRESH_MS);
  }

  // ----------------------------------------------------------------- start

  showLive(false);
  applyLanguage();
  if (document.body.dataset.page === "status") statusPage();
  else if (document.body.dataset.page === "board") boardPage();
})();
