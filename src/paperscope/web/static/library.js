// Save and Upvote without leaving the page. Each card's controls are plain forms that post with
// the CSRF token and work without JavaScript; this script sends the same change to the JSON API
// (PUT or DELETE /api/v1/me/library|upvotes/{id}, the token in the X-CSRF-Token header) and shows
// the state the server answers. Not logged in, or any failure: the form is posted as it would be
// without this script (the server then asks to log in, or says what went wrong).
"use strict";
(function () {
  function pathOf(id) {
    return id.split("/").map(encodeURIComponent).join("/");
  }

  function field(form, name) {
    var input = form.querySelector('input[name="' + name + '"]');
    return input ? input.value : "";
  }

  function showSaved(controls, marks) {
    var button = controls.querySelector("button.save");
    var flag = controls.querySelector('form[action="/library/save"] input[name="saved"]');
    if (!button || !flag) return;
    button.textContent = marks.saved ? "Saved" : "Save";
    button.setAttribute("aria-pressed", marks.saved ? "true" : "false");
    flag.value = marks.saved ? "false" : "true"; // the next post undoes this one
  }

  function showUpvoted(controls, marks) {
    var button = controls.querySelector("button.upvote");
    if (!button) return;
    var count = document.createElement("span");
    count.className = "count";
    count.textContent = String(marks.local_upvotes);
    button.textContent = "▲ " + (marks.upvoted ? "Upvoted" : "Upvote") + " ";
    button.appendChild(count);
    button.setAttribute("aria-pressed", marks.upvoted ? "true" : "false");
  }

  function enhance(controls) {
    var id = controls.getAttribute("data-paper-id");
    controls.querySelectorAll("form").forEach(function (form) {
      var action = form.getAttribute("action");
      if (action !== "/library/save" && action !== "/library/upvote") return;
      form.addEventListener("submit", function (event) {
        var button = form.querySelector("button");
        var on = action === "/library/save"
          ? field(form, "saved") !== "false"
          : !(button && button.getAttribute("aria-pressed") === "true");
        var url = "/api/v1/me/" + (action === "/library/save" ? "library/" : "upvotes/") + pathOf(id);
        event.preventDefault();
        if (button) button.disabled = true;
        fetch(url, {
          method: on ? "PUT" : "DELETE",
          credentials: "same-origin",
          headers: {"X-CSRF-Token": field(form, "csrf_token"), "Accept": "application/json"}
        }).then(function (reply) {
          if (!reply.ok) throw new Error(String(reply.status));
          return reply.json();
        }).then(function (marks) {
          if (button) button.disabled = false;
          showSaved(controls, marks);
          showUpvoted(controls, marks);
        }).catch(function () {
          if (button) button.disabled = false;
          form.submit(); // the plain post: a login page when logged out, the server's word otherwise
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".controls[data-paper-id]").forEach(enhance);
  });
})();
