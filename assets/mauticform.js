/* Mautic-compatible form runtime: multi-step pages, conditional fields, checks that mirror the
 * server's, AJAX submit. No dependencies. generate.js wraps this with the form's HTML (escaped on
 * the server) and settings: var F = {html, id, alias, base, prefill}. */
(function (w, d, F) {
  // Scripts inside a shadow root (a focus item) run with currentScript null: such embedders list
  // the script element in window.MauticFormScripts, and the form is looked up in that root.
  var here = d.currentScript || (function (list) {
    for (var i = 0; list && i < list.length; i++) {
      if (list[i].isConnected && new RegExp('generate\\.js\\?id=' + F.id + '(&|$)').test(list[i].src)) return list.splice(i, 1)[0];
    }
    return null;
  })(w.MauticFormScripts);
  var root = here && here.getRootNode && here.getRootNode().getElementById ? here.getRootNode() : d;
  var box = d.createElement('div');
  box.innerHTML = F.html;  // built and escaped by the server; nothing from this page goes in
  var wrapper = box.firstChild;
  if (here && here.parentNode) here.parentNode.insertBefore(wrapper, here);
  else (d.body || d.documentElement).appendChild(wrapper);
  var form = wrapper.querySelector('form');
  var prefix = 'mauticform[';
  var store = (function () { try { return w.localStorage; } catch (e) { return null; } })();

  function q(sel, root) { return Array.prototype.slice.call((root || form).querySelectorAll(sel)); }
  function aliasOf(name) { return name && name.indexOf(prefix) === 0 ? name.slice(prefix.length).replace(/\]\[?\]?$/, '').replace(/\]$/, '') : ''; }
  function inputs(alias) { return q('[name="' + prefix + alias + ']"], [name="' + prefix + alias + '][]"]'); }
  function valuesOf(alias) {
    var out = [];
    inputs(alias).forEach(function (el) {
      if ((el.type === 'checkbox' || el.type === 'radio') && !el.checked) return;
      if (el.value !== '') out.push(el.value);
    });
    return out;
  }
  function row(alias) { return root.getElementById('mauticform_' + F.alias + '_' + alias + '_row'); }
  function setError(alias, message) {
    var r = row(alias);
    if (!r) { if (message) showFormError(message); return; }
    var span = r.querySelector('.mauticform-errormsg');
    if (span) span.textContent = message || '';
    r.className = r.className.replace(/ mauticform-has-error/g, '') + (message ? ' mauticform-has-error' : '');
    inputs(alias).forEach(function (el) { if (message) el.setAttribute('aria-invalid', 'true'); else el.removeAttribute('aria-invalid'); });
  }
  function showFormError(text) { var el = root.getElementById('mauticform_' + F.alias + '_error'); if (el) el.textContent = text || ''; }
  function showMessage(text) { var el = root.getElementById('mauticform_' + F.alias + '_message'); if (el) el.textContent = text || ''; }

  // Pre-population: this page's query parameters named like a field, then the server's auto-fill values.
  var params = {};
  (w.location.search || '').replace(/^\?/, '').split('&').forEach(function (pair) {
    if (!pair) return;
    var i = pair.indexOf('='), k, v;
    try { k = decodeURIComponent(i < 0 ? pair : pair.slice(0, i)); v = decodeURIComponent((i < 0 ? '' : pair.slice(i + 1)).replace(/\+/g, ' ')); } catch (e) { return; }
    params[k] = v;
  });
  function fill(values, overwrite) {
    Object.keys(values || {}).forEach(function (alias) {
      var v = values[alias], list = Object.prototype.toString.call(v) === '[object Array]' ? v : [String(v)];
      inputs(alias).forEach(function (el) {
        if (el.type === 'file' || el.type === 'password') return;
        if (el.type === 'checkbox' || el.type === 'radio') { if (overwrite || !q('[name="' + el.name + '"]:checked').length) el.checked = list.indexOf(el.value) >= 0; }
        else if (overwrite || !el.value) el.value = list[0];
      });
    });
  }
  var fromQuery = {};
  q('[name^="' + prefix + '"]').forEach(function (el) { var a = aliasOf(el.name); if (a && params.hasOwnProperty(a)) fromQuery[a] = params[a]; });
  fill(fromQuery, true);
  // A known visitor (the tracking script's id on this page): drop the fields progressive profiling
  // hides, and fill auto-fill fields when the server trusts this site with the values. The id travels
  // as a parameter, so no cookie is needed: any site can read the answer, an allowed one gets values.
  var device = store && store.getItem('mautic_device_id');
  if (F.prefill && device) {
    var x = new XMLHttpRequest();
    x.open('GET', F.base + '/form/prefill?id=' + F.id + '&mautic_device_id=' + encodeURIComponent(device));
    x.onload = function () {
      var r;
      try { r = x.status === 200 && JSON.parse(x.responseText); } catch (e) { r = null; }
      if (!r) return;
      (r.hide || []).forEach(function (alias) { var el = row(alias); if (el) el.parentNode.removeChild(el); });
      fill(r.values, false);
      conditions();
    };
    x.send();
  }
  if (!form.querySelector('[name="' + prefix + 'return]"]').value) form.querySelector('[name="' + prefix + 'return]"]').value = w.location.href;

  // Conditional fields: a row with data-mautic-form-show-on shows when its parent has a matching value.
  function conditions() {
    q('[data-mautic-form-show-on]', wrapper).forEach(function (r) {
      var parent = r.getAttribute('data-mautic-form-show-on'), given = valuesOf(parent), show;
      if (r.getAttribute('data-mautic-form-expr') === 'any') show = given.length > 0;
      else {
        var wanted = JSON.parse(r.getAttribute('data-mautic-form-values') || '[]');
        show = given.some(function (v) { return wanted.indexOf(v) >= 0; });
        if (r.getAttribute('data-mautic-form-expr') === 'notIn') show = !show;
      }
      r.style.display = show ? '' : 'none';
    });
  }
  form.addEventListener('change', conditions);
  form.addEventListener('input', conditions);
  conditions();

  // Checks mirroring the server's (domain/forms.py); the server checks again whatever happens here.
  var checks = {
    email: [/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'Enter a valid e-mail address.'],
    tel: [/^\+?[0-9 ()./-]{5,32}$/, 'Enter a valid phone number.'],
    url: [/^https?:\/\/[^\s]+$/i, 'Enter a web address starting with http:// or https://.'],
    number: [/^-?[0-9]+([.,][0-9]+)?$/, 'Enter a number.']
  };
  function validate(scope) {
    var ok = true, first = null;
    q('.mauticform-row', scope).forEach(function (r) {
      if (r.style.display === 'none' && !/mauticform-hidden/.test(r.className)) return;
      var alias = (r.className.match(/mauticform-field-([a-z0-9_]+)/) || [])[1];
      if (!alias) return;
      var type = (r.className.match(/mauticform-row mauticform-([A-Za-z]+)/) || [])[1];
      var given = valuesOf(alias), message = '';
      if (/mauticform-required/.test(r.className) && !given.length) {
        var label = r.querySelector('.mauticform-label');
        message = (label ? label.textContent.replace(/\s*\*$/, '') : alias) + ' is required.';
      } else if (given.length && checks[type] && !checks[type][0].test(given[0].trim())) {
        message = checks[type][1];
      }
      setError(alias, message);
      if (message) { ok = false; if (!first) first = inputs(alias)[0]; }
    });
    if (first && first.focus) first.focus();
    return ok;
  }

  // Multi-step: one page at a time; "next" checks the page first.
  function page(n) {
    q('[data-mautic-form-page]').forEach(function (p) { p.style.display = p.getAttribute('data-mautic-form-page') === String(n) ? '' : 'none'; });
    var last = !form.querySelector('[data-mautic-form-page="' + (n + 1) + '"]');
    q('.mauticform-button-wrapper, button[type="submit"]').forEach(function (b) { b.style.display = last ? '' : 'none'; });
  }
  form.addEventListener('click', function (ev) {
    var t = ev.target, next = t.getAttribute && t.getAttribute('data-mautic-form-pagebreak-next'), prev = t.getAttribute && t.getAttribute('data-mautic-form-pagebreak-prev');
    if (next && validate(t.closest('[data-mautic-form-page]'))) page(+next);
    if (prev) page(+prev);
  });
  if (form.querySelector('[data-mautic-form-page="2"]')) page(1);

  function callback(name, arg) {
    var cb = w.MauticFormCallback && w.MauticFormCallback[F.alias];
    if (cb && typeof cb[name] === 'function') { try { return cb[name](arg); } catch (e) { /* a site's callback must not break the form */ } }
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    showFormError(''); showMessage('');
    var valid = validate(form);
    if (callback('onValidateEnd', valid) === false || !valid) return;
    var data = new FormData(form), device = store && store.getItem('mautic_device_id');
    if (device) data.append('mautic_device_id', device);
    data.append('mautic_page_url', w.location.href);
    var buttons = q('button[type="submit"]');
    buttons.forEach(function (b) { b.disabled = true; });
    var x = new XMLHttpRequest();
    x.open('POST', form.getAttribute('action') + (form.getAttribute('action').indexOf('?') < 0 ? '?' : '&') + 'ajax=1');
    x.withCredentials = true;
    x.setRequestHeader('X-Requested-With', 'XMLHttpRequest');
    x.onload = function () {
      buttons.forEach(function (b) { b.disabled = false; });
      var r;
      try { r = JSON.parse(x.responseText); } catch (e) { showFormError('The form could not be sent. Please try again.'); return; }
      if (callback('onResponse', r) === false) return;
      if (r.success) {
        q('.mauticform-errormsg').forEach(function (s) { s.textContent = ''; });
        d.dispatchEvent(new CustomEvent('mauticFormSubmitted', { detail: { formId: F.id, formAlias: F.alias } }));
        if (r.redirect) { w.location.href = r.redirect; return; }
        form.reset();
        q('.mauticform-innerform, .mauticform-button-wrapper').forEach(function (el) { el.style.display = 'none'; });
        showMessage(r.message || 'Thank you.');
      } else {
        var errors = r.validationErrors || {}, first = null;
        Object.keys(errors).forEach(function (alias) { setError(alias, errors[alias]); if (!first) first = inputs(alias)[0]; });
        var pageOf = first && first.closest('[data-mautic-form-page]');
        if (pageOf) page(+pageOf.getAttribute('data-mautic-form-page'));
        if (first && first.focus) first.focus();
        showFormError(r.errorMessage || (first ? '' : 'The form could not be sent. Please try again.'));
      }
    };
    x.onerror = function () { buttons.forEach(function (b) { b.disabled = false; }); showFormError('The form could not be sent. Please try again.'); };
    x.send(data);
  });
})(window, document, __MAUTIC_FORM__);
