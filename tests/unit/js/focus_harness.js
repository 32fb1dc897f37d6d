// Runs a rendered /focus/{id}.js in a fake browser (node:vm) for each case on stdin and prints what
// each one observed as JSON: whether the item showed, the pixels it requested, the state it stored.
// tests/unit/test_focus_domain.py writes the cases and makes the assertions.
'use strict';

const vm = require('vm');

function fakeElement(tag) {
  const el = {
    tagName: tag.toUpperCase(), attrs: {}, children: [], style: { setProperty() {} }, textContent: '', parentNode: null,
    setAttribute(k, v) { this.attrs[k] = String(v); },
    getAttribute(k) { return this.attrs[k]; },
    appendChild(c) { c.parentNode = this; this.children.push(c); return c; },
    removeChild(c) { this.children = this.children.filter((x) => x !== c); c.parentNode = null; },
    focus() { focused.push(this.attrs.class || this.tagName); },
    attachShadow() { this.shadow = fakeElement('#shadow'); this.shadow.querySelectorAll = () => []; return this.shadow; },
  };
  return el;
}
let focused = [];

function run(c) {
  focused = [];
  const images = [];
  const listeners = {};
  const store = new Map(Object.entries(c.storage || {}));
  const body = fakeElement('body');
  const document = {
    readyState: 'complete', currentScript: { src: 'https://m.example/focus/' + c.id + '.js' }, cookie: '', body,
    documentElement: fakeElement('html'), activeElement: null,
    createElement: (t) => fakeElement(t), getElementsByTagName: () => [],
    addEventListener(type, fn) { (listeners[type] = listeners[type] || []).push(fn); },
    removeEventListener(type, fn) { listeners[type] = (listeners[type] || []).filter((f) => f !== fn); },
  };
  const timers = [];
  const sandbox = {
    document, navigator: {},
    location: { protocol: 'https:' },
    localStorage: { getItem: (k) => (store.has(k) ? store.get(k) : null), setItem: (k, v) => store.set(k, String(v)) },
    Image: class { set src(v) { images.push(v); } },
    setTimeout: (fn, ms) => timers.push([fn, ms]),
    Date: class extends Date { constructor() { super(c.now * 1000); } },
  };
  sandbox.window = sandbox;
  const errors = [];
  try {
    vm.runInContext(c.script, vm.createContext(sandbox));
    timers.forEach(([fn]) => fn());
  } catch (e) {
    errors.push(String(e));
  }
  const host = body.children[0];
  const out = {
    shown: !!host, pixels: images, stored: store.get('mautic_focus_' + c.id) || null, cookie: document.cookie,
    timers: timers.map(([, ms]) => ms), errors, focused,
  };
  if (host && c.press) {
    (listeners.keydown || []).forEach((fn) => fn({ key: c.press, preventDefault() {} }));
    out.afterPress = { shown: body.children.length > 0, stored: store.get('mautic_focus_' + c.id) || null };
  }
  return out;
}

let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  process.stdout.write(JSON.stringify(JSON.parse(input).map(run)));
});
