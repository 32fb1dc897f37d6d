/*! mtc.js: page-view tracking, loaded by Mautic's standard snippet. Plain ES5, no dependencies.
 * POST {base}/mtc/event (form-encoded, with credentials); image {base}/mtracking.gif?... on failure.
 * Nothing here may throw into the host page; the only thing it inserts is a <script> for each focus
 * item the reply names ({base}/focus/{id}.js), which draws itself in its own shadow root. */
(function (w, d) {
  'use strict';
  var M = w.MauticJS = w.MauticJS || {};
  if (M.tracker) return; // loaded twice: the first copy already owns the queue

  var YEAR = 31536000, has = Object.prototype.hasOwnProperty;
  var base = findBase(), counter = 0, busy = false, pending = [], focusLoaded = {};

  // Where this script came from: hits go back to the host that served it.
  function findBase() {
    var s = d.currentScript, src = s && s.src, all, i;
    if (!src) {
      all = d.getElementsByTagName('script');
      for (i = 0; i < all.length && !src; i++) {
        if (/\/mtc\.js([?#]|$)/.test(all[i].src || '')) src = all[i].src;
      }
    }
    return src ? String(src).replace(/\/[^\/?#]*([?#].*)?$/, '') : '';
  }

  // localStorage can be missing, or throw on access (privacy modes, sandboxed frames, quota).
  function storage() {
    try { return w.localStorage || null; } catch (e) { return null; }
  }

  function readCookie(k) {
    try {
      var parts = String(d.cookie || '').split(/;\s*/), i, j;
      for (i = 0; i < parts.length; i++) {
        j = parts[i].indexOf('=');
        if (j > 0 && parts[i].slice(0, j) === k) return decodeURIComponent(parts[i].slice(j + 1));
      }
    } catch (e) {}
    return null;
  }

  function getItem(k) {
    var s = storage(), v = null;
    try { v = s && s.getItem(k); } catch (e) {}
    return v || readCookie(k);
  }

  function setItem(k, v) {
    var s = storage();
    try { if (s) s.setItem(k, v); } catch (e) {}
    try {
      d.cookie = k + '=' + enc(v) + '; path=/; max-age=' + YEAR +
        '; expires=' + new Date(new Date().getTime() + YEAR * 1000).toUTCString() + '; SameSite=Lax' +
        (w.location.protocol === 'https:' ? '; Secure' : '');
    } catch (e) {}
  }

  // encodeURIComponent throws on a lone surrogate (a truncated emoji in a title, say).
  function enc(s) {
    try { return encodeURIComponent(s); } catch (e) { return encodeURIComponent(String(s).replace(/[\ud800-\udfff]/g, '\ufffd')); }
  }

  function serialize(p) {
    var out = [], k;
    for (k in p) if (has.call(p, k)) out.push(enc(k) + '=' + enc(p[k]));
    return out.join('&');
  }

  // A field value as a string; arrays (tags) become "a,b"; objects, functions and null are skipped.
  function scalar(v) {
    var t = typeof v;
    return v === null || t === 'undefined' || t === 'object' || t === 'function' ? null : String(v);
  }

  function fieldValue(v) {
    var out = [], i, s;
    if (Object.prototype.toString.call(v) !== '[object Array]') return scalar(v);
    for (i = 0; i < v.length; i++) if ((s = scalar(v[i])) !== null) out.push(s);
    return out.join(',');
  }

  function collect(fields) {
    var n = w.navigator || {}, scr = w.screen, p = {}, k, v, tz;
    p.page_title = d.title || '';
    p.page_language = n.language || n.userLanguage || '';
    p.preferred_locale = (n.languages && n.languages[0]) || p.page_language;
    p.page_referrer = d.referrer || '';
    p.page_url = w.location.href;
    p.counter = counter++;
    p.timezone_offset = new Date().getTimezoneOffset();
    try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) {}
    if (tz) p.timezone = tz;
    if (scr) p.resolution = scr.width + 'x' + scr.height;
    p.platform = n.platform || '';
    p.do_not_track = n.doNotTrack == '1' ? 1 : 0; // sent anyway: the server decides
    if (fields && typeof fields === 'object') {
      for (k in fields) if (has.call(fields, k) && (v = fieldValue(fields[k])) !== null) p[k] = v;
    }
    return p;
  }

  // The reply names the published focus items whose pages match this one: load each once per page.
  function loadFocus(r) {
    var ids = r && r.focus, i, id, s, at;
    if (Object.prototype.toString.call(ids) !== '[object Array]') return;
    for (i = 0; i < ids.length && i < 20; i++) {
      id = ids[i];
      if (typeof id !== 'number' || id < 1 || id % 1 !== 0 || focusLoaded[id]) continue;
      focusLoaded[id] = 1;
      try {
        s = d.createElement('script');
        s.src = base + '/focus/' + id + '.js';
        at = d.getElementsByTagName('script')[0];
        if (at && at.parentNode) at.parentNode.insertBefore(s, at);
        else (d.head || d.documentElement).appendChild(s);
      } catch (e) {}
    }
  }

  function call(fn, arg) {
    try { if (typeof fn === 'function') fn(arg); } catch (e) {}
  }

  function remember(r) {
    var map = { id: 'mtc_id', sid: 'mtc_sid', device_id: 'mautic_device_id' }, k;
    for (k in map) if (has.call(map, k) && r[k] && typeof r[k] !== 'object') setItem(map[k], String(r[k]));
  }

  // Hits go one at a time, so a new visitor's second hit carries the device id the first one got.
  function send(p, cb) {
    pending.push([p, cb && typeof cb === 'object' ? cb : {}]);
    if (!busy) next();
  }

  function next() {
    var item = pending.shift(), p, cb, body, x = null, dev, done = false;
    busy = !!item;
    if (!item) return;
    p = item[0];
    cb = item[1];

    function finish(ok, reply) {
      if (done) return;
      done = true;
      if (ok) {
        remember(reply);
        call(cb.onload, reply);
        call(loadFocus, reply);
        // Hooks for focus items and dynamic content, when those scripts register them.
        call(M.loadFocusItems, reply);
        call(M.fillDynamicContent, reply);
      } else {
        try { new Image().src = base + '/mtracking.gif?' + body; } catch (e) {}
        call(cb.onerror, x);
      }
      next();
    }

    try {
      if ((dev = getItem('mautic_device_id'))) p.mautic_device_id = dev;
      body = serialize(p);
      x = new XMLHttpRequest();
      x.open('POST', base + '/mtc/event', true);
      x.withCredentials = true;
      x.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');
      x.timeout = 10000;
      x.onload = function () {
        var r = null;
        if (x.status < 200 || x.status > 299) return finish(false);
        try { r = JSON.parse(x.responseText); } catch (e) {}
        finish(true, r && typeof r === 'object' ? r : {});
      };
      x.onerror = x.ontimeout = x.onabort = function () { finish(false); };
      x.send(body);
    } catch (e) {
      if (body === undefined) body = serialize(p);
      finish(false); // no usable XMLHttpRequest: the image still records the hit
    }
  }

  // The real tracking function: mt(command, event, fields, callbacks). Unknown commands do nothing.
  function mt(command, event, fields, callbacks) {
    try {
      if (command === 'send' && event === 'pageview') send(collect(fields), callbacks);
    } catch (e) {}
  }

  try {
    var name = w.MauticTrackingObject || 'mt', stub = w[name], q = (stub && stub.q) || [], i;
    M.tracker = mt;
    M.base = base;
    M.getItem = getItem;
    M.serialize = serialize;
    w[name] = mt;
    for (i = 0; i < q.length; i++) mt.apply(null, q[i]);
  } catch (e) {}
})(window, document);
