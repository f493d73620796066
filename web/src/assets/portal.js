// jejak's portal: the pages work without this script. With it, a mentor's
// open inbox takes new items as they arrive (server-sent events).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var list = document.getElementById("kotak");
  if (!list || !window.EventSource) { return; }
  var source = new EventSource(list.getAttribute("data-langsung"));
  source.addEventListener("item", function (event) {
    var holder = document.createElement("template");
    holder.innerHTML = event.data.trim();
    var item = holder.content.firstElementChild;
    if (!item || document.getElementById(item.id)) { return; }
    list.appendChild(item);
    var empty = document.getElementById("kosong");
    if (empty) { empty.hidden = true; }
    list.setAttribute("data-jumlah", String(list.children.length));
  });
});
