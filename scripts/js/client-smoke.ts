// Drives a live PinBridge Auth with the TypeScript client generated from openapi.yaml
// (gen/typescript/schema.d.ts + openapi-fetch): register, create an API key, list accounts with it.
// BASE_URL names the server. Type-checked by tsc (tsconfig.json) before it runs.
import createClient from "openapi-fetch";
import type { paths, components } from "../../gen/typescript/schema.js";

type AuthResponse = components["schemas"]["AuthResponse"];
declare const process: { env: Record<string, string | undefined> };

const baseUrl = process.env.BASE_URL;
if (!baseUrl) throw new Error("BASE_URL is required");
const client = createClient<paths>({ baseUrl });

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`);
}

const email = `ts-client-${Date.now()}@example.com`;
const reg = await client.POST("/v1/auth/register", {
  body: { full_name: "TypeScript Client", email, password: "a perfectly fine password" },
});
check(reg.response.status === 201 && reg.data !== undefined, `register answered ${reg.response.status}`);
const session: AuthResponse = reg.data!;
check(session.active_project.environment === "production", "the session is on the production project");

const dup = await client.POST("/v1/auth/register", {
  body: { full_name: "TypeScript Client", email, password: "a perfectly fine password" },
});
check(dup.response.status === 409 && dup.error?.detail.code === "account_exists", "a second registration is a 409 account_exists");

const key = await client.POST("/v1/api-keys", {
  headers: { Authorization: `Bearer ${session.access_token}` },
  body: { name: "TypeScript smoke", scopes: ["read"] },
});
check(key.response.status === 201 && key.data!.api_key.startsWith("pb_live_"), "a pb_live_ key is created");

const accounts = await client.GET("/v1/pinterest/accounts", {
  headers: { "X-API-Key": key.data!.api_key },
});
check(accounts.response.status === 200 && Array.isArray(accounts.data) && accounts.data.length === 0, "the key lists the (empty) production accounts");

const refused = await client.GET("/v1/api-keys", { headers: { "X-API-Key": key.data!.api_key } });
check(refused.response.status === 403 && refused.error?.detail.code === "session_required", "a key cannot manage keys");

console.log("1 passed, 0 failed");
