// The harness page's recorders: the app functions the seed snippets call
// (setOrders, playNotificationSound, showToast, ...), React's hooks, and
// instruments on WebSocket, EventSource, console and long timers. Every call
// is pushed to window.__calls as {name, args}, which the Rust tests read
// back (tests/src/browser.rs). Loaded as a classic script before any
// snippet, so the snippets' free names resolve to these globals.
(() => {
  const calls = [];
  window.__calls = calls;

  // Tokens stay out of what the tests print.
  const redact = (url) => String(url).replace(/token=[^&]*/g, 'token=[redacted]');

  const clone = (value) => {
    try {
      const text = JSON.stringify(value, (_key, v) =>
        v instanceof Error ? { name: v.name, message: v.message } : v,
      );
      return text === undefined ? null : JSON.parse(text);
    } catch {
      return String(value);
    }
  };

  const record = (name, ...args) => {
    calls.push({ name, args: args.map(clone) });
  };
  window.record = record;

  // The app's state the snippets update, and its functions.
  window.__orders = [];
  window.__menus = [];
  window.setOrders = (next) => {
    window.__orders = typeof next === 'function' ? next(window.__orders) : next;
    record('setOrders', window.__orders);
  };
  window.setMenus = (next) => {
    window.__menus = typeof next === 'function' ? next(window.__menus) : next;
    record('setMenus', window.__menus);
  };
  for (const name of [
    'playNotificationSound',
    'showToast',
    'showMaintenanceScreen',
    'showError',
    'loadWorkOrders',
    'connectSSE',
  ]) {
    window[name] = (...args) => record(name, ...args);
  }

  // React's hooks, enough for a component called once: effects run at
  // once (their clean-ups are kept, unrun), refs are plain objects.
  window.__cleanups = [];
  window.useEffect = (effect) => {
    const cleanup = effect();
    if (typeof cleanup === 'function') {
      window.__cleanups.push(cleanup);
    }
  };
  window.useRef = (initial) => ({ current: initial });
  window.useCallback = (callback) => callback;
  window.useState = (initial) => [initial, (next) => record('setState', next)];

  // The console, which some snippets report to.
  for (const level of ['log', 'info', 'warn', 'error']) {
    const native = console[level].bind(console);
    console[level] = (...args) => {
      record(`console.${level}`, ...args);
      native(...args);
    };
  }

  const parse = (data) => {
    try {
      return JSON.parse(data);
    } catch {
      return String(data);
    }
  };

  // Every WebSocket: created, opened, each frame received, closed.
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(url, protocols) {
      super(url, protocols);
      const shown = redact(url);
      record('ws:new', shown);
      this.addEventListener('open', () => record('ws:open', shown));
      this.addEventListener('message', (e) => record('ws:message', parse(e.data)));
      this.addEventListener('close', (e) => record('ws:close', e.code));
    }
  };

  // Every EventSource: created, each message (with its id), each error.
  const NativeEventSource = window.EventSource;
  window.EventSource = class extends NativeEventSource {
    constructor(url, init) {
      super(url, init);
      record('es:new', redact(url));
      this.addEventListener('message', (e) =>
        record('es:message', { data: parse(e.data), lastEventId: e.lastEventId }),
      );
      this.addEventListener('error', () => record('es:error', this.readyState));
    }
  };

  // Timers of a second or more (the snippets' reconnect delays) are
  // recorded with the delay asked for, and run __timeScale times sooner:
  // the tests' clock, so a 5 s reconnect needs no 5 s wait. Those pending
  // are counted, so a test can tell that nothing more is scheduled.
  window.__timeScale = 1;
  const pending = new Set();
  window.__pendingLongTimers = () => pending.size;
  const nativeSetTimeout = window.setTimeout.bind(window);
  const nativeClearTimeout = window.clearTimeout.bind(window);
  window.setTimeout = (callback, ms, ...rest) => {
    if (typeof ms !== 'number' || ms < 1000 || typeof callback !== 'function') {
      return nativeSetTimeout(callback, ms, ...rest);
    }
    record('setTimeout', ms);
    const id = nativeSetTimeout(() => {
      pending.delete(id);
      callback(...rest);
    }, ms / window.__timeScale);
    pending.add(id);
    return id;
  };
  window.clearTimeout = (id) => {
    pending.delete(id);
    nativeClearTimeout(id);
  };
})();
