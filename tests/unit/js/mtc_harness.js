// Runs mtc.js in a fake browser (node:vm) through a set of scenarios and prints what each one
// observed as JSON; tests/unit/test_mtc_js.py makes the assertions.
// Usage: node mtc_harness.js path/to/mtc.js
'use strict';

const fs = require('fs');
const vm = require('vm');

const SCRIPT = fs.readFileSync(process.argv[2], 'utf8');
const errors = []; // anything that escaped the script into the "page"
process.on('uncaughtException', (e) => errors.push('uncaught: ' + String(e)));

// Mautic's standard snippet, verbatim apart from the URL and name.
const snippet = (url, name) => `
    (function(w,d,t,u,n,a,m){w['MauticTrackingObject']=n;
        w[n]=w[n]||function(){(w[n].q=w[n].q||[]).push(arguments)},a=d.createElement(t),
        m=d.getElementsByTagName(t)[0];a.async=1;a.src=u;m.parentNode.insertBefore(a,m)
    })(window,document,'script',${JSON.stringify(url)},${JSON.stringify(name)});`;

function makeStorage(mode, initial) {
  const data = new Map(Object.entries(initial || {}));
  const boom = () => { throw new Error('SecurityError: storage disabled'); };
  if (mode === 'methods-throw') return { getItem: boom, setItem: boom, removeItem: boom };
  return {
    getItem: (k) => (data.has(k) ? data.get(k) : null),
    setItem: (k, v) => { data.set(k, String(v)); },
    removeItem: (k) => { data.delete(k); },
    dump: () => Object.fromEntries(data),
  };
}

function makeEnv(opts = {}) {
  const requests = [];
  const images = [];
  const cookieWrites = [];
  const jar = Object.assign({}, opts.cookies || {});
  const responses = (opts.responses || []).slice();
  let inFlight = 0;

  const firstScript = { src: 'https://site.example.com/app.js', parentNode: null };
  const scripts = (opts.extraScripts || []).map((src) => ({ src })).concat([firstScript]);
  const head = {
    insertBefore(el, ref) {
      el.parentNode = head;
      scripts.splice(scripts.indexOf(ref), 0, el);
    },
  };
  scripts.forEach((s) => { s.parentNode = head; });

  const document = {
    title: opts.title === undefined ? 'Pricing' : opts.title,
    referrer: 'https://search.example.net/?q=mautic',
    currentScript: null,
    createElement: (tag) => ({ tagName: tag.toUpperCase(), src: '' }),
    getElementsByTagName: (tag) => (tag === 'script' ? scripts : []),
  };
  Object.defineProperty(document, 'cookie', {
    get: () => Object.entries(jar).map(([k, v]) => k + '=' + v).join('; '),
    set: (s) => {
      cookieWrites.push(s);
      const pair = s.split(';')[0];
      const i = pair.indexOf('=');
      jar[pair.slice(0, i).trim()] = pair.slice(i + 1);
    },
  });

  class FakeXHR {
    constructor() {
      this.headers = {};
      this.status = 0;
      this.responseText = '';
      this.withCredentials = false;
    }
    open(method, url, async) { this.method = method; this.url = url; this.async = async; }
    setRequestHeader(k, v) { this.headers[k] = v; }
    send(body) {
      requests.push({
        method: this.method, url: this.url, async: this.async, headers: this.headers,
        withCredentials: this.withCredentials, body, params: [...new URLSearchParams(body)],
      });
      const r = responses.shift() || { status: 200, body: '{"success":1}' };
      inFlight++;
      setTimeout(() => {
        inFlight--;
        try {
          if (r.network) {
            this.onerror && this.onerror();
          } else {
            this.status = r.status;
            this.responseText = r.body || '';
            this.onload && this.onload();
          }
        } catch (e) {
          errors.push('from xhr handler: ' + String(e));
        }
      }, 0);
    }
  }

  class FakeImage {
    set src(v) { images.push(v); }
  }

  const storageMode = opts.storage || 'ok';
  const storage = makeStorage(storageMode, opts.localStorage);
  const sandbox = {
    document,
    navigator: { language: 'fr-FR', languages: ['fr-CA', 'fr-FR', 'en'], platform: 'Linux x86_64', doNotTrack: '1' },
    screen: { width: 1920, height: 1080 },
    location: {
      href: 'https://site.example.com/pricing?ct=eyJpZCI6MX0.sig&utm_source=news',
      protocol: 'https:',
    },
    Image: FakeImage,
    setTimeout,
    __log: [],
  };
  if (!opts.noXHR) sandbox.XMLHttpRequest = FakeXHR;
  if (storageMode === 'getter-throws') {
    Object.defineProperty(sandbox, 'localStorage', { get: () => { throw new Error('SecurityError: access denied'); } });
  } else {
    sandbox.localStorage = storage;
  }
  sandbox.window = sandbox;
  const ctx = vm.createContext(sandbox);

  const run = (code) => {
    try {
      vm.runInContext(code, ctx);
    } catch (e) {
      errors.push('sync: ' + String(e));
    }
  };

  return {
    ctx,
    page: run,
    snippet(url, name) { run(snippet(url, name)); },
    // The browser fetching and running the async <script>: currentScript is set while it runs.
    loadScript(src) {
      const el = scripts.find((s) => /\/mtc\.js/.test(s.src)) || { src };
      document.currentScript = opts.noCurrentScript ? null : el;
      run(SCRIPT);
      document.currentScript = null;
    },
    async settle() {
      for (let i = 0; i < 50; i++) {
        await new Promise((r) => setTimeout(r, 0));
        if (!inFlight) return;
      }
    },
    result(extra) {
      return Object.assign({
        requests,
        images,
        cookieWrites,
        jar,
        storage: storage.dump ? storage.dump() : null,
        log: JSON.parse(JSON.stringify(sandbox.__log)),
        errors: errors.splice(0),
      }, extra || {});
    },
  };
}

const MTC = 'https://track.example.com/mtc.js';
const OK1 = JSON.stringify({ success: 1, id: 'c0ntact1d0paque0000001', sid: 'sess1', device_id: 'dev1ce1d0paque0000001', events: {} });
const OK2 = JSON.stringify({ success: 1, id: 'c0ntact1d0paque0000001', sid: 'sess2', device_id: 'dev1ce1d0paque0000001', events: {} });

const scenarios = {
  // The snippet queues calls before the script arrives; they replay in order.
  async queued() {
    const env = makeEnv({
      responses: [{ status: 200, body: OK1 }, { status: 200, body: OK2 }],
      title: 'Pricing \u2013 10% off & more \ud83d', // ends in a lone surrogate
    });
    env.snippet(MTC, 'mt');
    env.page(`
      var stub = window.mt;
      mt('send', 'pageview', {
        email: 'ann@example.com', firstname: 'Ann', tags: ['news', 'vip', '-old', {x: 1}], score: 5,
        obj: {a: 1}, fn: function () {}, nothing: null, undef: undefined
      }, {
        onload: function (r) { __log.push(['onload1', r.id, r.device_id]); },
        onerror: function () { __log.push(['onerror1']); }
      });
      mt('getTrackedContact');
      mt('bogus', 'x', 1);
      mt('send', 'pageview', {tags: 'a,b', page_title: 'Overridden'}, {
        onload: function (r) { __log.push(['onload2', r.sid]); }
      });
    `);
    const before = vm.runInContext('({q: mt.q.length, isStub: mt === stub, name: MauticTrackingObject})', env.ctx);
    env.loadScript();
    const after = vm.runInContext('({isStub: mt === stub, hasQueue: "q" in mt, type: typeof mt})', env.ctx);
    await env.settle();
    // A later call on the real function works too.
    env.page("mt('send', 'pageview', {}, {onload: function (r) { __log.push(['onload3', r.success]); }})");
    await env.settle();
    return env.result({ before, after });
  },

  // A visitor seen before: the stored device id goes with the first hit; custom tracker name.
  async returning() {
    const env = makeEnv({ localStorage: { mautic_device_id: 'prev1ousdev1ce0000001', mtc_id: 'prev1ouscontact000001' } });
    env.snippet(MTC, 'mtx');
    env.loadScript();
    env.page("mtx('send', 'pageview')");
    await env.settle();
    return env.result({ mtType: vm.runInContext('typeof mt', env.ctx), mtxType: vm.runInContext('typeof mtx', env.ctx) });
  },

  // localStorage access throws: cookies carry the ids, nothing escapes.
  async storageGetterThrows() {
    const env = makeEnv({
      storage: 'getter-throws',
      cookies: { mautic_device_id: 'c00k1edev1ce000000001' },
      responses: [{ status: 200, body: OK1 }, { status: 200, body: OK2 }],
    });
    env.snippet(MTC, 'mt');
    env.page("mt('send', 'pageview', {}, {onload: function (r) { __log.push(['onload', r.sid]); }})");
    env.page("mt('send', 'pageview', {}, {onload: function (r) { __log.push(['onload', r.sid]); }})");
    env.loadScript();
    await env.settle();
    return env.result();
  },

  // localStorage exists but every call throws (quota, Safari private mode).
  async storageMethodsThrow() {
    const env = makeEnv({ storage: 'methods-throw', responses: [{ status: 200, body: OK1 }] });
    env.snippet(MTC, 'mt');
    env.page("mt('send', 'pageview', {}, {onload: function (r) { __log.push(['onload', r.id]); }})");
    env.loadScript();
    await env.settle();
    return env.result();
  },

  // Server error, network/CORS failure, then success: the first two fall back to the pixel.
  async postFails() {
    const env = makeEnv({
      responses: [{ status: 500, body: 'oops' }, { network: true }, { status: 200, body: OK1 }],
    });
    env.snippet(MTC, 'mt');
    env.page(`
      MauticJS = {
        loadFocusItems: function (r) { __log.push(['focus', r.id]); },
        fillDynamicContent: function (r) { __log.push(['dwc', r.id]); }
      };
      for (var i = 1; i <= 3; i++) (function (i) {
        mt('send', 'pageview', {email: 'x' + i + '@example.com'}, {
          onload: function (r) { __log.push(['onload', i, r.id]); },
          onerror: function (x) { __log.push(['onerror', i, x ? x.status : null]); }
        });
      })(i);
    `);
    env.loadScript();
    await env.settle();
    return env.result();
  },

  // No XMLHttpRequest at all: straight to the pixel.
  async noXHR() {
    const env = makeEnv({ noXHR: true });
    env.snippet(MTC, 'mt');
    env.page("mt('send', 'pageview', {email: 'a@example.com'}, {onerror: function (x) { __log.push(['onerror', x]); }})");
    env.loadScript();
    await env.settle();
    return env.result();
  },

  // No document.currentScript and no snippet: the script tag is found by scanning, 'mt' is defined.
  async scanBase() {
    const env = makeEnv({
      noCurrentScript: true,
      extraScripts: ['https://cdn.example.net/lib.js', 'https://mkt.example.org/sub/mtc.js?v=3#x'],
    });
    env.loadScript();
    env.page("mt('send', 'pageview')");
    await env.settle();
    return env.result({ base: vm.runInContext('MauticJS.base', env.ctx) });
  },

  // Hooks registered later by focus / dynamic-content scripts run after a successful hit;
  // throwing callbacks and hooks are contained and do not stop the next hit.
  async hooksAndThrowingCallbacks() {
    const env = makeEnv({ responses: [{ status: 200, body: OK1 }, { status: 200, body: OK2 }] });
    env.snippet(MTC, 'mt');
    env.loadScript();
    env.page(`
      MauticJS.loadFocusItems = function (r) { __log.push(['focus', r.sid]); throw new Error('focus broke'); };
      MauticJS.fillDynamicContent = function (r) { __log.push(['dwc', r.sid]); };
      mt('send', 'pageview', {}, {onload: function () { __log.push(['onload1']); throw new Error('site bug'); }});
      mt('send', 'pageview', {}, {onload: function () { __log.push(['onload2']); }});
      mt('send', 'pageview', 'not an object', 'nor this');
      mt();
      mt(null, null, null, null);
    `);
    await env.settle();
    return env.result();
  },

  // The reply names focus items for this page: each is loaded once as {base}/focus/{id}.js, before the
  // first script; anything that is not a positive whole number is skipped.
  async focusItems() {
    const withFocus = (ids) => JSON.stringify({ success: 1, id: 'c0ntact1d0paque0000001', sid: 's', device_id: 'dev1ce1d0paque0000001', events: {}, focus: ids });
    const env = makeEnv({ responses: [
      { status: 200, body: withFocus([3, 7, '9', -1, 2.5, null, { id: 4 }, 'javascript:alert(1)']) },
      { status: 200, body: withFocus([7, 11]) },
      { status: 200, body: withFocus('3') },
    ] });
    env.snippet(MTC, 'mt');
    env.loadScript();
    env.page("mt('send', 'pageview'); mt('send', 'pageview'); mt('send', 'pageview');");
    await env.settle();
    const inserted = vm.runInContext(
      "Array.prototype.map.call(document.getElementsByTagName('script'), function (s) { return s.src; })",
      env.ctx);
    return env.result({ inserted });
  },

  // The script included twice: hits are not doubled.
  async loadedTwice() {
    const env = makeEnv();
    env.snippet(MTC, 'mt');
    env.page("mt('send', 'pageview')");
    env.loadScript();
    env.loadScript();
    env.page("mt('send', 'pageview')");
    await env.settle();
    return env.result();
  },
};

(async () => {
  const out = {};
  for (const [name, fn] of Object.entries(scenarios)) {
    try {
      out[name] = await fn();
    } catch (e) {
      out[name] = { harnessError: String(e && e.stack ? e.stack : e) };
    }
  }
  process.stdout.write(JSON.stringify(out));
})();
