// PinBridge account pages: plain JavaScript calling the JSON API on the same origin.
// Tokens are read from the URL once, then removed from the address bar and history, and never sent
// anywhere but the API. Nothing is consumed on page load: the user acts first (link scanners that
// open links do not use them up).
(function () {
  "use strict";
  var page = document.body.dataset.page;
  var form = document.getElementById("form");
  var statusEl = document.getElementById("status");
  var errorEl = document.getElementById("error");

  var params = new URLSearchParams(window.location.search);
  var token = params.get("token") || "";
  if (params.has("token")) {
    window.history.replaceState(null, "", window.location.pathname);
  }

  function say(el, text) {
    statusEl.textContent = "";
    errorEl.textContent = "";
    el.textContent = text;
    el.focus();
  }
  function ok(text) { say(statusEl, text); }
  function fail(text) { say(errorEl, text); }
  function busy(on) {
    var button = form.querySelector("button");
    button.disabled = on;
    form.setAttribute("aria-busy", on ? "true" : "false");
  }
  function finish() { form.hidden = true; }

  var invalidLink = {
    "reset-password": "This reset link is invalid, has expired or was already used. Request a new one.",
    "verify-email": "This verification link is invalid, has expired or was already used. Request a new one from your account.",
    "confirm-email-change": "This confirmation link is invalid, has expired or was already used. Request the change again from your account.",
    "revert-email-change": "This link is invalid, has expired or was already used. If someone else controls your account, contact support."
  };

  function call(method, path, body) {
    var init = { method: method, headers: { "Accept": "application/json" }, credentials: "omit", referrerPolicy: "no-referrer" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        return { status: resp.status, data: data, retryAfter: resp.headers.get("Retry-After") };
      });
    });
  }

  function explain(r) {
    var detail = (r.data && r.data.detail) || {};
    if (r.status === 400) { return invalidLink[page] || detail.message; }
    if (r.status === 409) { return "Another PinBridge account already uses this email address."; }
    if (r.status === 422) { return detail.message || "Please check what you entered."; }
    if (r.status === 429) { return "Too many attempts. Please retry in " + (r.retryAfter || "a few") + " seconds."; }
    return "Something went wrong on our side. Please retry in a moment.";
  }

  function showLinkProblem() {
    var again = document.getElementById("again");
    if (again) { again.hidden = false; }
  }

  if (page !== "forgot-password" && token.length < 20) {
    finish();
    fail(invalidLink[page]);
    showLinkProblem();
    return;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var request;
    if (page === "forgot-password") {
      var email = document.getElementById("email");
      if (!email.value || !email.checkValidity()) {
        email.setAttribute("aria-invalid", "true");
        fail("Enter a valid email address.");
        email.focus();
        return;
      }
      email.removeAttribute("aria-invalid");
      request = call("POST", "/v1/auth/forgot-password", { email: email.value.trim() });
    } else if (page === "reset-password") {
      var password = document.getElementById("password");
      var confirm = document.getElementById("confirm");
      password.removeAttribute("aria-invalid");
      confirm.removeAttribute("aria-invalid");
      if (password.value.length < 8) {
        password.setAttribute("aria-invalid", "true");
        fail("Your new password needs at least 8 characters.");
        password.focus();
        return;
      }
      if (password.value !== confirm.value) {
        confirm.setAttribute("aria-invalid", "true");
        fail("The two passwords do not match.");
        confirm.focus();
        return;
      }
      request = call("POST", "/v1/auth/reset-password", { token: token, password: password.value });
    } else if (page === "verify-email") {
      request = call("GET", "/v1/auth/email/verify?token=" + encodeURIComponent(token));
    } else if (page === "confirm-email-change") {
      request = call("GET", "/v1/auth/email/change/confirm?token=" + encodeURIComponent(token));
    } else if (page === "revert-email-change") {
      request = call("POST", "/v1/auth/email/change/revert", { token: token });
    }
    busy(true);
    request.then(function (r) {
      busy(false);
      if (r.status === 200) {
        finish();
        var messages = {
          "forgot-password": r.data.message,
          "reset-password": "Your password has been changed. You can now sign in with your new password.",
          "verify-email": "Thank you: your email address is verified.",
          "confirm-email-change": "Done: your account now uses " + (r.data.new_email || "your new address") + ".",
          "revert-email-change": "Done: your account uses " + (r.data.email || "this address") + " again and every session was signed out. Now choose a new password with \"Forgot password\"."
        };
        ok(messages[page]);
        return;
      }
      if (r.status === 400) {
        finish();
        showLinkProblem();
      }
      fail(explain(r));
    }, function () {
      busy(false);
      fail("We could not reach PinBridge. Check your connection and retry.");
    });
  });
})();
