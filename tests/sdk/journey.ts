// One journey through Rapport with the TypeScript client generated from openapi/openapi.json
// (@hey-api/openapi-ts, fetch client): the same steps as journey.py.
//
//     node dist/journey.js BASE_URL CLIENT_ID CLIENT_SECRET
//
// tests/test_sdk_journeys.py generates the client into client/ beside this file, type-checks
// both (tsc --noEmit), compiles and runs it. Exits non-zero on the first surprise.

import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook, WebhookVerificationError } from "standardwebhooks";

import { createClient, type Client } from "./client/client/index.js";
import {
  checkinsCreate,
  checkinsReflectionsCreate,
  couplesCreate,
  couplesGetMine,
  couplesJoin,
  answersPut,
  dailyPromptsToday,
  insightsGet,
  meGet,
  oauthToken,
  usersCreate,
  webhooksEndpointsCreate,
} from "./client/sdk.gen.js";

const REDIRECT_URI = "http://127.0.0.1/oauth/callback";
const SCOPES =
  "profile couple:read couple:write prompts:read answers:read answers:write " +
  "checkins:read checkins:write insights:read";
const EXPECTED_EVENTS = ["answer.revealed", "checkin.shared", "couple.joined"];
const HIDDEN = /<input type="hidden" name="([^"]+)" value="([^"]*)">/g;

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** The data of a call that must have answered with this status. */
function expect<T>(
  result: { data?: T; error?: unknown; response: Response },
  status: number,
): T {
  const got = result.response.status;
  check(got === status && result.data !== undefined, `expected ${status}, got ${got}: ${JSON.stringify(result.error)}`);
  return result.data;
}

function unescape(value: string): string {
  return value
    .replaceAll("&#34;", '"').replaceAll("&#39;", "'").replaceAll("&quot;", '"')
    .replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");
}

function hiddenFields(page: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [, name, value] of page.matchAll(HIDDEN)) {
    if (name !== undefined && value !== undefined) fields[name] = unescape(value);
  }
  return fields;
}

/** A browser without a cookie jar of its own: keeps the session cookie, never follows. */
class Browser {
  private cookies = new Map<string, string>();
  constructor(private readonly baseUrl: string) {}

  async request(path: string, form?: Record<string, string>): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.cookies.size > 0) {
      headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    }
    const init: RequestInit = { redirect: "manual", headers };
    if (form !== undefined) {
      init.method = "POST";
      init.body = new URLSearchParams(form);
    }
    const response = await fetch(new URL(path, this.baseUrl), init);
    for (const line of response.headers.getSetCookie()) {
      const pair = line.split(";", 1)[0] ?? "";
      const at = pair.indexOf("=");
      if (at > 0) this.cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
    return response;
  }
}

function locationOf(response: Response): URL {
  const location = response.headers.get("location");
  check(location !== null, `no location in a ${response.status}`);
  return new URL(location, "http://placeholder.invalid");
}

async function signIn(
  baseUrl: string, clientId: string, secret: string, email: string, password: string,
): Promise<string> {
  const verifier = randomBytes(48).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const state = randomBytes(12).toString("base64url");
  const query = new URLSearchParams({
    response_type: "code", client_id: clientId, redirect_uri: REDIRECT_URI, scope: SCOPES,
    state, code_challenge: challenge, code_challenge_method: "S256",
  });
  const browser = new Browser(baseUrl);
  const start = await browser.request(`/oauth/authorize?${query}`);
  check(start.status === 303, `authorize: ${start.status}`);
  const next = locationOf(start).searchParams.get("next") ?? "";
  const page = await browser.request(`/oauth/sign-in?${new URLSearchParams({ next })}`);
  const signedIn = await browser.request("/oauth/sign-in", {
    ...hiddenFields(await page.text()), next, email, password,
  });
  check(signedIn.status === 303, `sign-in: ${signedIn.status}`);
  const consentPage = await browser.request(locationOf(signedIn).pathname + locationOf(signedIn).search);
  check(consentPage.status === 200, `consent page: ${consentPage.status}`);
  const landed = await browser.request("/oauth/authorize", {
    ...hiddenFields(await consentPage.text()), decision: "allow",
  });
  check(landed.status === 302, `consent: ${landed.status}`);
  const callback = locationOf(landed).searchParams;
  check(callback.get("state") === state, "the state came back changed");
  const token = expect(
    await oauthToken({
      client: createClient({ baseUrl }),
      body: {
        grant_type: "authorization_code", code: callback.get("code"), redirect_uri: REDIRECT_URI,
        code_verifier: verifier, client_id: clientId, client_secret: secret,
      },
    }),
    200,
  );
  check(token.token_type === "Bearer", "not a bearer token");
  check(token.scope.split(" ").sort().join(" ") === SCOPES.split(" ").sort().join(" "), token.scope);
  return token.access_token;
}

function bearer(baseUrl: string, token: string): Client {
  return createClient({ baseUrl, auth: token });
}

type Delivery = { headers: IncomingHttpHeaders; body: string };

async function receiver(): Promise<{ url: string; deliveries: Delivery[]; close: () => void }> {
  const deliveries: Delivery[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      deliveries.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks`, deliveries, close: () => server.close() };
}

function flat(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === "string") out[name] = value;
  }
  return out;
}

async function main(baseUrl: string, clientId: string, secret: string): Promise<void> {
  const hooks = await receiver();

  // The app registers its webhook endpoint with its own (client credentials) token.
  const appToken = expect(
    await oauthToken({
      client: createClient({ baseUrl }),
      body: {
        grant_type: "client_credentials", scope: "webhooks:manage",
        client_id: clientId, client_secret: secret,
      },
    }),
    200,
  );
  const endpoint = expect(
    await webhooksEndpointsCreate({
      client: bearer(baseUrl, appToken.access_token),
      body: { url: hooks.url, event_types: EXPECTED_EVENTS },
    }),
    201,
  );

  // Two people sign up and sign in to the app.
  const anonymous = createClient({ baseUrl });
  const people: Client[] = [];
  for (const name of ["Ann", "Bo"]) {
    const email = `${name.toLowerCase()}-${randomBytes(4).toString("hex")}@example.com`;
    const password = "a long passphrase";
    expect(
      await usersCreate({ client: anonymous, body: { email, password, display_name: name } }),
      201,
    );
    people.push(bearer(baseUrl, await signIn(baseUrl, clientId, secret, email, password)));
  }
  const [ann, bo] = people;
  check(ann !== undefined && bo !== undefined, "two people");
  check(expect(await meGet({ client: ann }), 200).display_name === "Ann", "me");

  // Ann creates the couple; Bo joins with the invite code.
  const created = expect(await couplesCreate({ client: ann, body: {} }), 201);
  const code = created.invite.code;
  check(typeof code === "string", "an invite code");
  const joined = expect(await couplesJoin({ client: bo, body: { code } }), 200);
  check(joined.members.length === 2, "two members");
  check(expect(await couplesGetMine({ client: ann }), 200).id === created.id, "the same couple");

  // Today's prompt: both answer; the answers are revealed; the ETag answers 304.
  const today = expect(await dailyPromptsToday({ client: ann }), 200);
  check(today.partner_answer === null, "nothing to see before answering");
  const mine = expect(
    await answersPut({
      client: ann, path: { local_date: today.date }, body: { text: "The walk by the river." },
    }),
    200,
  );
  check(mine.partner_answer === null, "hidden until Bo answers");
  expect(
    await answersPut({ client: bo, path: { local_date: today.date }, body: { text: "Cooking together." } }),
    200,
  );
  const revealed = await dailyPromptsToday({ client: ann });
  const day = expect(revealed, 200);
  check(day.partner_answer?.text === "Cooking together." && day.revealed_at !== null, "revealed");
  const etag = revealed.response.headers.get("etag");
  check(etag !== null, "an ETag");
  const again = await dailyPromptsToday({ client: ann, headers: { "If-None-Match": etag } });
  check(again.response.status === 304, `If-None-Match: ${again.response.status}`);

  // Bo shares a check-in; Ann reflects on it.
  const checkin = expect(
    await checkinsCreate({ client: bo, body: { mood: 4, note: "A good day.", visibility: "partner" } }),
    201,
  );
  const reflection = expect(
    await checkinsReflectionsCreate({
      client: ann, path: { checkin_id: checkin.id }, body: { kind: "appreciate", text: "Glad to hear." },
    }),
    201,
  );
  check(reflection.checkin_id === checkin.id, "a reflection on the check-in");

  const insights = expect(await insightsGet({ client: ann }), 200);
  check(insights.window_days === 30 && insights.sharing.partners.length === 2, "insights");

  // Every subscribed event reaches the receiver, signed with the endpoint's secret.
  const verifier = new Webhook(endpoint.secret);
  const deadline = Date.now() + 60_000;
  let seen = new Set<string>();
  while (!EXPECTED_EVENTS.every((type) => seen.has(type))) {
    check(Date.now() < deadline, `deliveries seen: ${[...seen].sort().join(", ")}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    seen = new Set();
    for (const delivery of hooks.deliveries) {
      const event = verifier.verify(delivery.body, flat(delivery.headers)) as { type: string };
      seen.add(event.type);
    }
  }
  const first = hooks.deliveries[0];
  check(first !== undefined, "a delivery");
  try {
    verifier.verify(first.body, { ...flat(first.headers), "webhook-signature": "v1,AAAA" });
    throw new Error("a forged signature was accepted");
  } catch (error) {
    if (!(error instanceof WebhookVerificationError)) throw error;
  }
  hooks.close();
  console.log(`typescript journey: ok (${hooks.deliveries.length} verified deliveries: ${[...seen].sort().join(", ")})`);
}

const [baseUrl, clientId, secret] = process.argv.slice(2);
check(baseUrl && clientId && secret, "usage: node dist/journey.js BASE_URL CLIENT_ID CLIENT_SECRET");
await main(baseUrl, clientId, secret);
