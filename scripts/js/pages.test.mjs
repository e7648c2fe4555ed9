// Browser tests of the account pages, in headless Chromium through playwright-core.
// Run by server/browser_test.go, which starts the service and an SMTP server and passes:
//   BASE_URL   the service
//   INBOX_URL  GET ?to=ADDRESS answers the next email to ADDRESS as {subject, link, text}
//   SHOTS_DIR  where to leave screenshots (optional)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BASE = process.env.BASE_URL;
const INBOX = process.env.INBOX_URL;
const SHOTS = process.env.SHOTS_DIR || "";
const PASSWORD = "a perfectly fine password";

let context;
let page;

before(async () => {
  context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "pinbridge-chromium-")), {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = context.pages()[0] || (await context.newPage());
});

after(async () => { await context?.close(); });

async function api(method, path, body, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const resp = await fetch(BASE + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  return { status: resp.status, data: await resp.json() };
}

async function mailTo(address) {
  const resp = await fetch(`${INBOX}?to=${encodeURIComponent(address)}`);
  assert.equal(resp.status, 200, `no email to ${address}`);
  return resp.json();
}

function address(prefix) {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

async function register(prefix, fields = {}) {
  const email = address(prefix);
  const r = await api("POST", "/v1/auth/register", { full_name: "Browser Tester", email, password: PASSWORD, ...fields });
  assert.equal(r.status, 201);
  return { email, token: r.data.access_token, organization: r.data.organization };
}

async function shot(name) {
  if (SHOTS) await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

const focusedId = () => page.evaluate(() => document.activeElement && document.activeElement.id);

test("forgot-password, then reset-password from the emailed link, single use", async () => {
  const { email } = await register("reset");
  const resp = await page.goto(`${BASE}/forgot-password`);
  assert.equal(resp.status(), 200);
  assert.match(resp.headers()["content-security-policy"], /default-src 'none'/);
  assert.equal(resp.headers()["referrer-policy"], "no-referrer");

  // Accessible: the field is labelled; an empty submit is announced and focus moves to the message.
  const emailField = page.getByLabel("Email");
  await page.getByRole("button", { name: "Send reset link" }).click();
  await page.getByRole("alert").filter({ hasText: "valid email" }).waitFor();
  assert.equal(await emailField.getAttribute("aria-invalid"), "true");
  assert.equal(await focusedId(), "email");

  await emailField.fill(email);
  await page.getByRole("button", { name: "Send reset link" }).click();
  await page.getByRole("status").filter({ hasText: "If an account exists" }).waitFor();
  assert.equal(await focusedId(), "status");
  await shot("forgot-password-sent");

  const mail = await mailTo(email);
  assert.match(mail.link, /\/reset-password\?token=/);

  await page.goto(mail.link);
  // The token leaves the address bar at once (it is kept in memory only).
  assert.equal(new URL(page.url()).search, "");
  await page.getByLabel("New password", { exact: true }).fill("a brand new password");
  await page.getByLabel("Confirm new password").fill("a different password");
  await page.getByRole("button", { name: "Set new password" }).click();
  await page.getByRole("alert").filter({ hasText: "do not match" }).waitFor();
  assert.equal(await focusedId(), "confirm");
  await shot("reset-password-mismatch");

  await page.getByLabel("Confirm new password").fill("a brand new password");
  await page.getByRole("button", { name: "Set new password" }).click();
  await page.getByRole("status").filter({ hasText: "Your password has been changed" }).waitFor();
  await shot("reset-password-done");

  const login = await api("POST", "/v1/auth/login", { email, password: "a brand new password" });
  assert.equal(login.status, 200, "the new password works");

  // The same link again: refused with a clear message and a way to get a new one.
  await page.goto(mail.link);
  await page.getByLabel("New password", { exact: true }).fill("yet another password");
  await page.getByLabel("Confirm new password").fill("yet another password");
  await page.getByRole("button", { name: "Set new password" }).click();
  await page.getByRole("alert").filter({ hasText: "invalid, has expired or was already used" }).waitFor();
  await page.getByRole("link", { name: "Request a new reset link" }).waitFor();
  await shot("reset-password-used");
});

test("reset-password without a usable token explains itself", async () => {
  await page.goto(`${BASE}/reset-password`);
  await page.getByRole("alert").filter({ hasText: "invalid, has expired or was already used" }).waitFor();
  await page.goto(`${BASE}/reset-password?token=${"x".repeat(43)}`);
  await page.getByLabel("New password", { exact: true }).fill("a brand new password");
  await page.getByLabel("Confirm new password").fill("a brand new password");
  await page.getByRole("button", { name: "Set new password" }).click();
  await page.getByRole("alert").filter({ hasText: "invalid, has expired or was already used" }).waitFor();
});

test("verify-email does nothing until the person clicks", async () => {
  const { email, token } = await register("verify");
  const req = await api("POST", "/v1/auth/email/verify/request", undefined, token);
  assert.equal(req.status, 200);
  const mail = await mailTo(email);
  assert.match(mail.link, /\/verify-email\?token=/);

  await page.goto(mail.link);
  let me = await api("GET", "/v1/auth/me", undefined, token);
  assert.equal(me.data.user.email_verified, false, "opening the page must not use the token");

  await page.getByRole("button", { name: "Verify my email" }).click();
  await page.getByRole("status").filter({ hasText: "verified" }).waitFor();
  await shot("verify-email-done");
  me = await api("GET", "/v1/auth/me", undefined, token);
  assert.equal(me.data.user.email_verified, true);

  await page.goto(mail.link);
  await page.getByRole("button", { name: "Verify my email" }).click();
  await page.getByRole("alert").filter({ hasText: "invalid, has expired or was already used" }).waitFor();
});

test("confirm-email-change moves the account to the new address", async () => {
  const { token } = await register("change");
  const newEmail = `moved-${Date.now()}@example.com`;
  const req = await api("POST", "/v1/auth/email/change/request", { new_email: newEmail }, token);
  assert.equal(req.status, 200);
  const mail = await mailTo(newEmail);
  assert.match(mail.link, /\/confirm-email-change\?token=/);

  await page.goto(mail.link);
  let me = await api("GET", "/v1/auth/me", undefined, token);
  assert.notEqual(me.data.user.email, newEmail, "opening the page must not use the token");

  await page.getByRole("button", { name: "Confirm new email" }).click();
  await page.getByRole("status").filter({ hasText: newEmail }).waitFor();
  await shot("confirm-email-change-done");
  const login = await api("POST", "/v1/auth/login", { email: newEmail, password: PASSWORD });
  assert.equal(login.status, 200);
});

// invite emails an invitation from owner's organization and answers it with the emailed link.
async function invite(owner, email, role) {
  const r = await api("POST", "/v1/team/invitations", { email, role }, owner.token);
  assert.equal(r.status, 201, `invite ${email}: ${JSON.stringify(r.data)}`);
  const mail = await mailTo(email);
  assert.match(mail.link, /\/accept-invitation\?token=/);
  return { id: r.data.id, link: mail.link };
}

async function memberRole(owner, email) {
  const r = await api("GET", "/v1/team/members", undefined, owner.token);
  assert.equal(r.status, 200);
  const m = r.data.items.find((item) => item.user.email.toLowerCase() === email.toLowerCase());
  return m && m.role;
}

// The session a sign-in or registration answers, caught on its way to the page.
function sessionFrom(path) {
  return page.waitForResponse((resp) => new URL(resp.url()).pathname === path && resp.request().method() === "POST")
    .then((resp) => resp.json());
}

// leavesNoToken: after joining, the access token is nowhere the page could keep or show it.
async function leavesNoToken(accessToken) {
  assert.ok(accessToken, "the API answered a session");
  assert.equal(new URL(page.url()).search, "", "no token in the address bar");
  const kept = await page.evaluate(() => ({
    html: document.documentElement.outerHTML,
    values: Array.from(document.querySelectorAll("input")).map((i) => i.value).join(" "),
    local: window.localStorage.length, session: window.sessionStorage.length, cookie: document.cookie,
  }));
  assert.equal(kept.html.includes(accessToken), false, "the access token is not in the page");
  assert.equal(kept.values.includes(accessToken), false, "the access token is not in a field");
  assert.deepEqual([kept.local, kept.session, kept.cookie], [0, 0, ""], "nothing stored");
  assert.deepEqual(await context.cookies(BASE), [], "no cookie set");
}

const invitationForms = () => page.locator("#signin, #register").evaluateAll((els) => els.map((el) => !el.hidden));

test("accept-invitation previews without using the link, then joins by creating an account", async () => {
  const errors = [];
  const onError = (e) => errors.push(String(e));
  page.on("pageerror", onError);
  // Names the inviter typed, with markup in them: the page must show them as text.
  const orgName = `<img src=x id=injected> Acme & "Co" ${Date.now()}`;
  const owner = await register("owner", { full_name: "<i>Olga</i> Owner", workspace_name: orgName });
  assert.equal(owner.organization.name, orgName);
  const email = address("joiner");
  const { link } = await invite(owner, email, "editor");

  const resp = await page.goto(link);
  assert.equal(resp.status(), 200);
  assert.match(resp.headers()["content-security-policy"], /default-src 'none'/);
  assert.equal(resp.headers()["referrer-policy"], "no-referrer");
  assert.equal(new URL(page.url()).search, "", "the token leaves the address bar");

  const org = page.locator("#invitation-organization");
  await org.filter({ hasText: "Acme" }).waitFor();
  assert.equal(await org.textContent(), orgName);
  assert.equal(await page.locator("#invitation-role").textContent(), "Editor");
  assert.equal(await page.locator("#invitation-email").textContent(), email);
  assert.equal(await page.locator("#invitation-inviter").textContent(), `<i>Olga</i> Owner (${owner.email})`);
  assert.equal(await page.locator("#injected, #invitation img, #invitation i").count(), 0, "no markup from the inviter's text");
  for (const id of ["#signin-email", "#register-email"]) {
    assert.equal(await page.locator(id).inputValue(), email);
    assert.equal(await page.locator(id).getAttribute("readonly"), "");
  }
  assert.deepEqual(await invitationForms(), [true, true]);
  await shot("accept-invitation-preview");

  // Opening the page (and the preview it makes) does not use the invitation.
  const list = await api("GET", "/v1/team/invitations", undefined, owner.token);
  const inv = list.data.items.find((i) => i.email === email);
  assert.ok(inv && !inv.accepted_at && !inv.revoked_at, "still pending after the page was opened");

  // Checked in the page first, then by the API (a guessable password is a 422 naming the field).
  const register_ = page.locator("#register");
  await register_.getByRole("button", { name: "Create account and join" }).click();
  await page.getByRole("alert").filter({ hasText: "Enter your full name" }).waitFor();
  assert.equal(await focusedId(), "register-name");
  await register_.getByLabel("Full name").fill("Jo Joiner");
  await register_.getByLabel("Password").fill("password123");
  await register_.getByRole("button", { name: "Create account and join" }).click();
  await page.getByRole("alert").filter({ hasText: "Password too weak" }).waitFor();
  assert.equal(await page.locator("#register-password").getAttribute("aria-invalid"), "true");
  assert.equal(await focusedId(), "register-password");
  await shot("accept-invitation-weak-password");

  await register_.getByLabel("Password").fill(PASSWORD);
  const session = sessionFrom("/v1/auth/register");
  await register_.getByRole("button", { name: "Create account and join" }).click();
  await page.getByRole("status").filter({ hasText: `You joined ${orgName} as Editor` }).waitFor();
  assert.deepEqual(await invitationForms(), [false, false]);
  await shot("accept-invitation-joined");
  await leavesNoToken((await session).access_token);
  assert.equal(await memberRole(owner, email), "editor", "the owner sees the new member");

  // The link is used up: opened again, it says so and offers no form.
  await page.goto(link);
  await page.getByRole("alert").filter({ hasText: "already accepted" }).waitFor();
  assert.equal(await org.textContent(), orgName);
  assert.deepEqual(await invitationForms(), [false, false]);
  page.off("pageerror", onError);
  assert.deepEqual(errors, [], "no script errors");
});

test("accept-invitation by signing in with an existing account", async () => {
  const owner = await register("host");
  const member = await register("member");
  const { link } = await invite(owner, member.email, "viewer");
  await page.goto(link);
  await page.locator("#invitation-role").filter({ hasText: "Viewer" }).waitFor();

  // The address has an account: registering is refused with a hint to sign in.
  const register_ = page.locator("#register");
  await register_.getByLabel("Full name").fill("Member Again");
  await register_.getByLabel("Password").fill(PASSWORD);
  await register_.getByRole("button", { name: "Create account and join" }).click();
  await page.getByRole("alert").filter({ hasText: "Account already exists" }).filter({ hasText: "Sign in" }).waitFor();
  assert.equal(await page.locator("#register-form + #error").count(), 1, "the error shows under the form that failed");

  const signin = page.locator("#signin");
  await signin.getByRole("button", { name: "Sign in and join" }).click();
  await page.getByRole("alert").filter({ hasText: "Enter your password" }).waitFor();
  await signin.getByLabel("Password").fill("not the right password");
  await signin.getByRole("button", { name: "Sign in and join" }).click();
  await page.getByRole("alert").filter({ hasText: "Invalid email or password" }).waitFor();
  assert.equal(await focusedId(), "signin-password");
  assert.equal(await page.locator("#signin-password").getAttribute("aria-invalid"), "true");
  assert.equal(await page.locator("#signin-form + #error").count(), 1, "the error shows under the form that failed");
  await shot("accept-invitation-wrong-password");
  assert.equal(await memberRole(owner, member.email), undefined, "not a member yet");

  await signin.getByLabel("Password").fill(PASSWORD);
  const session = sessionFrom("/v1/auth/login");
  await signin.getByRole("button", { name: "Sign in and join" }).click();
  await page.getByRole("status").filter({ hasText: `You joined ${owner.organization.name} as Viewer` }).waitFor();
  await leavesNoToken((await session).access_token);
  assert.equal(await memberRole(owner, member.email), "viewer");
});

test("accept-invitation explains an invalid, missing or revoked link", async () => {
  for (const path of [`/accept-invitation?token=${"x".repeat(43)}`, "/accept-invitation", "/accept-invitation?token=short"]) {
    await page.goto(BASE + path);
    await page.getByRole("alert").filter({ hasText: "invitation link is invalid, has expired, was revoked or was already used" }).waitFor();
    assert.equal(await page.locator("#invitation").isHidden(), true, path);
    assert.deepEqual(await invitationForms(), [false, false], path);
  }
  await shot("accept-invitation-invalid");

  const owner = await register("revoker");
  const email = address("withdrawn");
  const { id, link } = await invite(owner, email, "admin");
  assert.equal((await api("DELETE", `/v1/team/invitations/${id}`, undefined, owner.token)).status, 200);
  await page.goto(link);
  await page.getByRole("alert").filter({ hasText: "withdrawn" }).waitFor();
  assert.equal(await page.locator("#invitation-organization").textContent(), owner.organization.name);
  assert.deepEqual(await invitationForms(), [false, false]);
});

test("accept-invitation shows a rate limit and can check again", async () => {
  // The limits are far above what a test can reach, so the API's 429 answer is played by the browser.
  const tooMany = (seconds) => (route) => route.fulfill({
    status: 429, contentType: "application/json", headers: { "Retry-After": String(seconds) },
    body: JSON.stringify({ detail: { code: "rate_limited", message: `Too many requests; retry in ${seconds} seconds` } }),
  });
  const owner = await register("busy");
  const email = address("patient");
  const { link } = await invite(owner, email, "viewer");

  await page.route("**/v1/team/invitations/preview?*", tooMany(7));
  await page.goto(link);
  await page.getByRole("alert").filter({ hasText: "retry in 7 seconds" }).waitFor();
  await page.unroute("**/v1/team/invitations/preview?*");
  await page.getByRole("button", { name: "Check the invitation again" }).click();
  await page.locator("#invitation-organization").filter({ hasText: owner.organization.name }).waitFor();
  assert.equal(await page.getByRole("button", { name: "Check the invitation again" }).isHidden(), true);

  await page.route("**/v1/auth/register", tooMany(30));
  const register_ = page.locator("#register");
  await register_.getByLabel("Full name").fill("Pat Patient");
  await register_.getByLabel("Password").fill(PASSWORD);
  await register_.getByRole("button", { name: "Create account and join" }).click();
  await page.getByRole("alert").filter({ hasText: "retry in 30 seconds" }).waitFor();
  await page.unroute("**/v1/auth/register");
  assert.deepEqual(await invitationForms(), [true, true], "the forms stay for a retry");
});

test("Swagger UI at /docs renders every operation and runs GET /healthz", async () => {
  const spec = await (await fetch(`${BASE}/openapi.json`)).json();
  let operations = 0;
  for (const item of Object.values(spec.paths)) {
    for (const method of ["get", "put", "post", "delete", "patch"]) if (item[method]) operations++;
  }
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const resp = await page.goto(`${BASE}/docs`);
  assert.equal(resp.status(), 200);
  await page.locator(".opblock").first().waitFor();
  assert.equal(await page.locator(".opblock").count(), operations, "one block per operation");

  // Authorize offers the session JWT and both API-key styles.
  await page.getByRole("button", { name: /Authorize/ }).first().click();
  for (const scheme of ["BearerAuth", "ApiKeyHeader", "ApiKeyBearer"]) {
    await page.getByText(scheme, { exact: false }).first().waitFor();
  }
  await page.locator(".modal-ux .close-modal").click();
  await page.locator(".modal-ux").waitFor({ state: "detached" });

  const health = page.locator("#operations-system-getHealth");
  await health.locator(".opblock-summary").click();
  await health.getByRole("button", { name: "Try it out" }).click();
  await health.getByRole("button", { name: "Execute" }).click();
  await health.locator(".live-responses-table .response-col_status").filter({ hasText: "200" }).first().waitFor();
  await shot("docs-healthz");
  assert.deepEqual(errors, [], "no script errors on /docs");
});
