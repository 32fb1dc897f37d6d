// Suggestions for boxes that take a list of values (`<input data-suggest='["vip", ...]' data-separator=",">`): as
// one types, the browser's own suggestion list offers the known values that start with the one being typed,
// after the values already in the box. It is the browser's datalist, so keyboards and screen readers work as usual.
(function () {
  "use strict";
  var MAX = 20;

  function suggest(input) {
    var known;
    try { known = JSON.parse(input.getAttribute("data-suggest") || "[]"); } catch (e) { return; }
    if (!Array.isArray(known)) return;
    var separator = input.getAttribute("data-separator") || ",";
    var id = (input.id || input.getAttribute("aria-label") || "values").replace(/\W+/g, "-") + "-suggestions";
    var list = document.getElementById(id);
    if (!list) {
      list = document.createElement("datalist");
      list.id = id;
      document.body.appendChild(list);
    }
    input.setAttribute("list", id);
    var value = input.value;
    var cut = value.lastIndexOf(separator);
    var head = cut < 0 ? "" : value.slice(0, cut + 1) + (separator === "," ? " " : "");
    var typed = value.slice(cut + 1).trim();
    var sign = typed.charAt(0) === "-" && separator === "," ? "-" : "";  // "-tag" removes a tag where the box allows it
    var start = typed.slice(sign.length).toLowerCase();
    var chosen = {};
    value.slice(0, cut < 0 ? 0 : cut).split(separator).forEach(function (t) { chosen[t.trim().replace(/^-/, "").toLowerCase()] = true; });
    var options = [];
    for (var i = 0; i < known.length && options.length < MAX; i++) {
      var item = String(known[i]), lower = item.toLowerCase();
      if (!chosen[lower] && lower.indexOf(start) === 0 && lower !== start) options.push(head + sign + item);
    }
    list.replaceChildren.apply(list, options.map(function (v) { var o = document.createElement("option"); o.value = v; return o; }));
  }

  ["input", "focusin"].forEach(function (kind) {
    document.addEventListener(kind, function (event) {
      var target = event.target;
      if (target && target.hasAttribute && target.hasAttribute("data-suggest")) suggest(target);
    });
  });
})();
