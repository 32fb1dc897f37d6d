/*! Mautic focus item (/focus/{id}.js). Plain ES5, no dependencies. Everything it draws lives in a
 * shadow root (page styles cannot reach in, ours cannot leak out) and is built with textContent and
 * setAttribute only. The mautic_focus_{id} cookie (and localStorage) keeps how often it shows.
 * Nothing here may throw into the host page. */
(function (w, d, F) {
  'use strict';
  var all, KEY = 'mautic_focus_' + F.id, YEAR = 31536000, base, host = null, root = null, box = null;
  var before = null, open = false, used = false, dialog = F.style === 'modal' || F.style === 'page';

  try {
    all = w.MauticFocusItems = w.MauticFocusItems || {};
    if (all[F.id]) return; // the same item twice on a page shows once
    all[F.id] = 1;
  } catch (e) { return; }

  // Where this script came from: stats go back to the host that served it.
  function findBase() {
    var re = new RegExp('/focus/' + F.id + '\\.js([?#].*)?$'), s = d.currentScript, src = s && s.src, list, i;
    if (!src || !re.test(src)) {
      src = '';
      list = d.getElementsByTagName('script');
      for (i = 0; i < list.length && !src; i++) if (re.test(list[i].src || '')) src = list[i].src;
    }
    return src ? String(src).replace(re, '') : F.base;
  }

  function storage() {
    try { return w.localStorage || null; } catch (e) { return null; }
  }

  function cookie(k) {
    try {
      var parts = String(d.cookie || '').split(/;\s*/), i, j;
      for (i = 0; i < parts.length; i++) {
        j = parts[i].indexOf('=');
        if (j > 0 && parts[i].slice(0, j) === k) return decodeURIComponent(parts[i].slice(j + 1));
      }
    } catch (e) {}
    return null;
  }

  function read(k) {
    var s = storage(), v = null;
    try { v = s && s.getItem(k); } catch (e) {}
    return v || cookie(k);
  }

  // "<seconds shown>[.c][.x]": when it last showed, whether the visitor converted, closed it.
  function state() {
    var p = String(read(KEY) || '').split('.');
    return { t: /^\d+$/.test(p[0]) ? +p[0] : 0, c: p.indexOf('c') > 0, x: p.indexOf('x') > 0 };
  }

  function save(st) {
    var v = (st.t || 0) + (st.c ? '.c' : '') + (st.x ? '.x' : ''), s = storage();
    try { if (s) s.setItem(KEY, v); } catch (e) {}
    try {
      d.cookie = KEY + '=' + v + '; path=/; max-age=' + YEAR + '; SameSite=Lax' +
        (w.location.protocol === 'https:' ? '; Secure' : '');
    } catch (e) {}
  }

  function now() { return Math.floor(new Date().getTime() / 1000); }

  function allowed() {
    var st = state();
    if (F.stopConversion && st.c) return false;
    if (F.stopClose && st.x) return false;
    if (!st.t) return true;
    return F.gap >= 0 && now() - st.t >= F.gap;
  }

  function track(type) {
    var dev = read('mautic_device_id'), url = base + '/focus/' + F.id + '/viewpixel.gif?type=' + type +
      (dev && /^[A-Za-z0-9_-]{1,64}$/.test(dev) ? '&mautic_device_id=' + dev : '') + '&r=' + now() + Math.random().toString(36).slice(2, 8);
    try { if (type !== 'view' && w.navigator.sendBeacon && w.navigator.sendBeacon(url)) return; } catch (e) {}
    try { new Image().src = url; } catch (e) {}
  }

  function converted() {
    var st = state();
    st.c = true;
    save(st);
  }

  function hex(v, dflt) { return /^#[0-9a-fA-F]{6}$/.test(v || '') ? v : dflt; }

  function css() {
    var c = F.colors || {}, bg = hex(c.primary, '#4e5d9d'), fg = hex(c.text, '#ffffff'),
      bb = hex(c.button, '#fdb933'), bt = hex(c.button_text, '#ffffff');
    return ':host{all:initial!important}*{box-sizing:border-box}' +
      '.w{position:fixed;z-index:2147483647;font:16px/1.4 Arial,Helvetica,sans-serif;color:' + fg + ';text-align:left}' +
      '.b{position:relative;background:' + bg + ';color:' + fg + ';padding:12px 52px 12px 16px;box-shadow:0 2px 14px rgba(0,0,0,.3)}' +
      '.bar{left:0;right:0}.bar.top{top:0}.bar.bottom{bottom:0}' +
      '.bar .b{display:flex;flex-wrap:wrap;align-items:center;justify-content:center;gap:6px 16px;text-align:center}' +
      '.modal,.page{top:0;right:0;bottom:0;left:0;display:flex;justify-content:center;background:rgba(0,0,0,.55)}' +
      '.modal.top{align-items:flex-start;padding-top:6vh}.modal.middle{align-items:center}' +
      '.modal.bottom{align-items:flex-end;padding-bottom:6vh}.page{align-items:stretch}' +
      '.modal .b{width:92vw;max-width:520px;max-height:88vh;overflow:auto;border-radius:8px;padding:32px 44px;text-align:center}' +
      '.page .b{width:100%;display:flex;flex-direction:column;justify-content:center;align-items:center;text-align:center;overflow:auto}' +
      '.notification{width:92vw;max-width:340px}.top_left{top:16px;left:16px}.top_right{top:16px;right:16px}' +
      '.bottom_left{bottom:16px;left:16px}.bottom_right{bottom:16px;right:16px}' +
      '.notification .b{border-radius:8px;padding:20px 44px 20px 20px}' +
      '.h{margin:0;font-size:1.3em;font-weight:700}.t{margin:6px 0 0}.bar .h{font-size:1em}.bar .t{margin:0}' +
      '.page .h{font-size:2em}.btn{display:inline-block;margin-top:14px;padding:9px 20px;border:0;border-radius:4px;' +
      'background:' + bb + ';color:' + bt + ';font:inherit;font-weight:700;text-decoration:none;cursor:pointer}' +
      '.bar .btn{margin:0}.x{position:absolute;top:6px;right:6px;width:34px;height:34px;padding:0;border:0;' +
      'border-radius:50%;background:transparent;color:inherit;font:26px/1 Arial,sans-serif;cursor:pointer}' +
      '.x:hover{background:rgba(0,0,0,.15)}.btn:focus-visible,.x:focus-visible{outline:3px solid ' + fg + ';outline-offset:2px}' +
      '.f{margin-top:14px;padding:12px;border-radius:4px;background:#fff;color:#222;text-align:left;width:100%}' +
      '.an .b{animation:mf .35s ease-out}@keyframes mf{from{opacity:0;transform:translateY(-14px)}to{opacity:1;transform:none}}' +
      '@media (prefers-reduced-motion:reduce){.an .b{animation:none}}';
  }

  function el(tag, cls, text) {
    var e = d.createElement(tag);
    if (cls) e.setAttribute('class', cls);
    if (text) e.textContent = text;
    return e;
  }

  function focusables() {
    var list = root.querySelectorAll('a[href],button,input,select,textarea,[tabindex]:not([tabindex="-1"])'), out = [], i;
    for (i = 0; i < list.length; i++) if (!list[i].disabled) out.push(list[i]);
    return out;
  }

  function onKey(e) {
    var k = e.key || e.keyCode, list, first, last, at;
    if (!open) return;
    if (k === 'Escape' || k === 'Esc' || k === 27) {
      hide(true);
      return;
    }
    if (dialog && (k === 'Tab' || k === 9)) { // keep focus inside the dialog
      list = focusables();
      if (!list.length) return;
      first = list[0];
      last = list[list.length - 1];
      at = root.activeElement;
      if (!at || (e.shiftKey && at === first) || (!e.shiftKey && at === last)) {
        e.preventDefault();
        (e.shiftKey ? last : first).focus();
      }
    }
  }

  function build() {
    var wrap, x, h, a, b, f, s, action = null;
    host = d.createElement('mautic-focus');
    host.setAttribute('data-focus-id', String(F.id));
    host.style.setProperty('all', 'initial', 'important');
    root = host.attachShadow({ mode: 'open' });
    root.appendChild(el('style', '', css()));
    wrap = el('div', 'w ' + F.style + ' ' + F.placement + (F.animate ? ' an' : ''));
    box = el('div', 'b');
    if (dialog) {
      box.setAttribute('role', 'dialog');
      box.setAttribute('aria-modal', 'true');
    } else {
      box.setAttribute('role', 'region');
    }
    if (F.headline) box.setAttribute('aria-labelledby', 'mf-h');
    else box.setAttribute('aria-label', F.tagline ? F.tagline.slice(0, 80) : 'Message');
    x = el('button', 'x', '\u00d7');
    x.setAttribute('type', 'button');
    x.setAttribute('aria-label', 'Close');
    x.onclick = function () { hide(true); };
    box.appendChild(x);
    if (F.headline) {
      h = el('p', 'h', F.headline);
      h.setAttribute('id', 'mf-h');
      box.appendChild(h);
    }
    if (F.tagline) box.appendChild(el('p', 't', F.tagline));
    if (F.type === 'link' && F.link) {
      a = action = el('a', 'btn', F.button || 'Learn more');
      a.setAttribute('href', F.link);
      if (F.newWindow) {
        a.setAttribute('target', '_blank');
        a.setAttribute('rel', 'noopener noreferrer');
      }
      a.onclick = function () { track('click'); converted(); };
      if (F.linkActivation) {
        box.style.cursor = 'pointer';
        box.onclick = function (e) { if (e.target === box || e.target === h) a.click(); };
      }
      box.appendChild(a);
    } else if (F.type === 'notice' && F.button) {
      b = action = el('button', 'btn', F.button);
      b.setAttribute('type', 'button');
      b.onclick = function () { track('click'); converted(); hide(false); };
      box.appendChild(b);
    } else if (F.type === 'form' && F.formId) {
      // The form's script puts its markup right before itself, so it lands in here. Scripts in a
      // shadow tree run with document.currentScript null, so the element is also listed in
      // window.MauticFormScripts for the form script to find itself by.
      f = el('div', 'f');
      s = d.createElement('script');
      s.src = base + '/form/generate.js?id=' + encodeURIComponent(F.formId);
      s.setAttribute('data-mautic-focus', String(F.id));
      (w.MauticFormScripts = w.MauticFormScripts || []).push(s);
      f.appendChild(s);
      box.appendChild(f);
    }
    wrap.appendChild(box);
    root.appendChild(wrap);
    return action || x;
  }

  function show() {
    var st, first;
    if (used || !allowed()) return;
    used = true;
    if (!d.body || !d.body.attachShadow) return;
    before = d.activeElement;
    first = build();
    d.body.appendChild(host);
    open = true;
    st = state();
    st.t = now();
    save(st);
    track('view');
    d.addEventListener('keydown', onKey, true);
    if (dialog) {
      try { first.focus(); } catch (e) {}
    }
  }

  function hide(closed) {
    var st;
    if (!open) return;
    open = false;
    d.removeEventListener('keydown', onKey, true);
    if (closed) {
      st = state();
      st.x = true;
      save(st);
    }
    try { host.parentNode.removeChild(host); } catch (e) {}
    if (dialog && before && before.focus) {
      try { before.focus(); } catch (e) {}
    }
  }

  function scrolled() {
    var el2 = d.documentElement, top = w.pageYOffset || el2.scrollTop || 0,
      room = Math.max(el2.scrollHeight, d.body ? d.body.scrollHeight : 0) - (w.innerHeight || el2.clientHeight);
    return room <= 0 || top / room >= F.scroll; // a page too short to scroll is seen whole
  }

  function arm() {
    var onScroll, onLeave;
    if (!allowed()) return;
    if (F.when === 'timeout') {
      w.setTimeout(show, Math.max(0, +F.timeout || 0) * 1000);
    } else if (F.when === 'leave') {
      onLeave = function (e) {
        if (!e.relatedTarget && e.clientY <= 0) {
          d.removeEventListener('mouseout', onLeave);
          show();
        }
      };
      d.addEventListener('mouseout', onLeave);
    } else if (F.scroll) {
      onScroll = function () {
        if (scrolled()) {
          w.removeEventListener('scroll', onScroll);
          show();
        }
      };
      if (scrolled()) show();
      else w.addEventListener('scroll', onScroll);
    } else {
      show();
    }
  }

  try {
    base = findBase();
    // A form item converts when its form says it was submitted.
    d.addEventListener('mauticFormSubmitted', function (e) {
      try {
        if (open && F.type === 'form' && e.detail && +e.detail.formId === +F.formId) {
          converted();
          track('conversion');
        }
      } catch (err) {}
    });
    w.MauticFocusItems[F.id] = { show: show, hide: hide };
    if (d.readyState === 'loading') d.addEventListener('DOMContentLoaded', arm);
    else arm();
  } catch (e) {}
})(window, document, __FOCUS_CONFIG__);
