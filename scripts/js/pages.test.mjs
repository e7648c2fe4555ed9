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

async function register(prefix) {
  const email = `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
  const r = await api("POST", "/v1/auth/register", { full_name: "Browser Tester", email, password: PASSWORD });
  assert.equal(r.status, 201);
  return { email, token: r.data.access_token };
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
