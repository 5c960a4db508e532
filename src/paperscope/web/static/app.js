// Expandable abstracts: a clamped abstract gets a "more"/"less" button when it overflows.
// Loaded from /static (the Content-Security-Policy allows no inline script).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".abstract.clamp").forEach(function (el) {
    if (el.scrollHeight <= el.clientHeight + 1) return;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "more";
    button.textContent = "more";
    button.setAttribute("aria-expanded", "false");
    button.addEventListener("click", function () {
      var open = el.classList.toggle("expanded");
      button.textContent = open ? "less" : "more";
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
    el.insertAdjacentElement("afterend", button);
  });
});
