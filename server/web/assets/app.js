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
    "revert-email-change": "This link is invalid, has expired or was already used. If someone else controls your account, contact support.",
    "accept-invitation": "This invitation link is invalid, has expired, was revoked or was already used. Ask the person who invited you for a new one."
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

  if (page === "accept-invitation") {
    acceptInvitation();
    return;
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

  // accept-invitation: the preview (which never uses the link) says what the invitation is for;
  // the person then signs in or creates an account with the invited address, and the API accepts
  // the invitation in that same call. The session it answers is read for the organization's name
  // and the role, then dropped: this page never keeps or shows an access token.
  // Text the inviter typed (organization and inviter names) only ever goes in with textContent.
  function acceptInvitation() {
    var intro = document.getElementById("intro");
    var facts = document.getElementById("invitation");
    var retryLine = document.getElementById("retry-line");
    var sections = [document.getElementById("signin"), document.getElementById("register")];
    var forms = [document.getElementById("signin-form"), document.getElementById("register-form")];
    var invited = "";

    var notPending = {
      accepted: "This invitation was already accepted. Sign in to PinBridge with the invited address to work in this organization.",
      revoked: "This invitation was withdrawn by the organization. Ask the person who invited you for a new one.",
      expired: "This invitation has expired. Ask the person who invited you for a new one."
    };
    // The API's field names, as a 422 lists them, and the inputs that hold them.
    var fields = {
      "signin-form": { email: "signin-email", password: "signin-password" },
      "register-form": { full_name: "register-name", email: "register-email", password: "register-password" }
    };

    function text(id, value) { document.getElementById(id).textContent = value; }
    function roleName(role) { return role ? role.charAt(0).toUpperCase() + role.slice(1) : "member"; }
    function sentence(s) { return /[.!?]$/.test(s) ? s : s + "."; }
    function showForms(on) { sections.forEach(function (s) { s.hidden = !on; }); }
    function lock(on) {
      forms.forEach(function (f) {
        f.querySelector("button").disabled = on;
        f.setAttribute("aria-busy", on ? "true" : "false");
      });
    }
    // A form's errors show right under that form (the second form would push them out of sight);
    // the page's own messages stay where the layout puts them.
    function errorsUnder(form) { form.after(errorEl); }
    function errorsHome() { statusEl.after(errorEl); }
    function invalid(input, message) {
      input.setAttribute("aria-invalid", "true");
      fail(message);
      input.focus();
    }
    // closed: the invitation cannot be accepted (any more); say why and offer no form.
    function closed(message) {
      errorsHome();
      showForms(false);
      intro.hidden = true;
      fail(message);
    }

    function preview() {
      retryLine.hidden = true;
      intro.hidden = false;
      call("GET", "/v1/team/invitations/preview?token=" + encodeURIComponent(token)).then(showPreview, function () {
        intro.hidden = true;
        retryLine.hidden = false;
        fail("We could not reach PinBridge. Check your connection and retry.");
      });
    }

    function showPreview(r) {
      var detail = (r.data && r.data.detail) || {};
      if (r.status === 400 || r.status === 422) {
        closed(invalidLink[page]);
        return;
      }
      if (r.status !== 200) {
        intro.hidden = true;
        retryLine.hidden = false;
        fail(r.status === 429 ? (detail.message || "Too many attempts. Please retry in " + (r.retryAfter || "a few") + " seconds.")
          : (detail.message || "Something went wrong on our side. Please retry in a moment."));
        return;
      }
      var p = r.data;
      invited = p.email;
      text("invitation-organization", p.organization_name);
      text("invitation-role", roleName(p.role));
      text("invitation-email", p.email);
      var inviter = p.inviter_name && p.inviter_email ? p.inviter_name + " (" + p.inviter_email + ")" : (p.inviter_name || p.inviter_email || "");
      text("invitation-inviter", inviter);
      document.getElementById("invitation-inviter-term").hidden = !inviter;
      document.getElementById("invitation-inviter").hidden = !inviter;
      facts.hidden = false;
      if (p.status !== "pending") {
        closed(notPending[p.status] || invalidLink[page]);
        return;
      }
      if (p.team_access_enabled === false) {
        closed("This organization cannot take new members at the moment. Ask the person who invited you.");
        return;
      }
      intro.textContent = "You are invited to join this organization on PinBridge. Sign in, or create an account, with the invited address to accept.";
      document.getElementById("signin-email").value = p.email;
      document.getElementById("register-email").value = p.email;
      statusEl.textContent = "";
      errorEl.textContent = "";
      showForms(true);
    }

    function submit(form, path, body) {
      lock(true);
      call("POST", path, body).then(function (r) {
        lock(false);
        if (r.status === 200 || r.status === 201) {
          var org = (r.data.organization && r.data.organization.name) || "the organization";
          var role = roleName(r.data.organization_role);
          errorsHome();
          showForms(false);
          intro.hidden = true;
          ok("You joined " + org + " as " + role + ". Sign in to PinBridge with " + invited + " to work in it.");
          return;
        }
        explainSubmit(form, r);
      }, function () {
        lock(false);
        fail("We could not reach PinBridge. Check your connection and retry.");
      });
    }

    function explainSubmit(form, r) {
      var detail = (r.data && r.data.detail) || {};
      var message = detail.message ? sentence(detail.message) : "";
      if (r.status === 400 && detail.code === "invalid_invitation_token") {
        closed(invalidLink[page]);
        return;
      }
      if (r.status === 401) {
        invalid(document.getElementById("signin-password"), message || "Invalid email or password.");
        return;
      }
      if (r.status === 409) {
        fail((message || "Account already exists.") + " This address already has a PinBridge account: use “Sign in” with its password instead.");
        return;
      }
      if (r.status === 422) {
        var issue = (detail.errors || [])[0] || {};
        var id = issue.loc && fields[form.id][issue.loc[issue.loc.length - 1]];
        if (id) {
          invalid(document.getElementById(id), message || "Please check what you entered.");
          return;
        }
        fail(message || "Please check what you entered.");
        return;
      }
      if (r.status === 429) {
        fail(message || "Too many attempts. Please retry in " + (r.retryAfter || "a few") + " seconds.");
        return;
      }
      fail(message || "Something went wrong on our side. Please retry in a moment.");
    }

    if (token.length < 20) {
      closed(invalidLink[page]);
      return;
    }
    document.getElementById("retry").addEventListener("click", preview);

    forms[0].addEventListener("submit", function (event) {
      event.preventDefault();
      errorsUnder(forms[0]);
      var password = document.getElementById("signin-password");
      password.removeAttribute("aria-invalid");
      if (!password.value) {
        invalid(password, "Enter your password.");
        return;
      }
      submit(forms[0], "/v1/auth/login", { email: invited, password: password.value, invite_token: token });
    });

    forms[1].addEventListener("submit", function (event) {
      event.preventDefault();
      errorsUnder(forms[1]);
      var name = document.getElementById("register-name");
      var password = document.getElementById("register-password");
      name.removeAttribute("aria-invalid");
      password.removeAttribute("aria-invalid");
      if (!name.value.trim()) {
        invalid(name, "Enter your full name.");
        return;
      }
      if (password.value.length < 8) {
        invalid(password, "Your password needs at least 8 characters.");
        return;
      }
      submit(forms[1], "/v1/auth/register", { full_name: name.value.trim(), email: invited, password: password.value, invite_token: token });
    });

    preview();
  }
})();
