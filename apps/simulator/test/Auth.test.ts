import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import { type RunningSimulator, startSimulator } from "../src/index.js"
import { client, memberChat, request } from "./helpers.js"

const INVALID = { message: "Request was rejected because of invalid AuthToken." }
const TOKEN_SHAPE = /^1000\.[0-9a-f]{32}\.[0-9a-f]{32}$/

let sim: RunningSimulator

beforeAll(async () => {
  sim = await startSimulator({
    chats: 60,
    seed: 21,
    control: true,
    tokens: ["alpha", "beta"],
    refreshTokens: [
      { refreshToken: "rt-a", clientId: "cid", clientSecret: "secret", userIndex: 0 },
      { refreshToken: "rt-b", clientId: "cid", clientSecret: "secret", userIndex: 1 },
      {
        refreshToken: "rt-read",
        clientId: "cid",
        clientSecret: "secret",
        userIndex: 0,
        scopes: ["ZohoCliq.Chats.READ"]
      }
    ]
  })
})
afterAll(() => sim.close())
beforeEach(() => sim.state.resetThrottle())

const get = (token: string | null, scheme = "Zoho-oauthtoken") =>
  request(`${sim.apiBaseUrl}/chats?limit=1`, { headers: token === null ? {} : { authorization: `${scheme} ${token}` } })

const mint = (params: Record<string, string>, where: "form" | "query" = "form") => {
  const encoded = new URLSearchParams({
    grant_type: "refresh_token",
    client_id: "cid",
    client_secret: "secret",
    ...params
  })
  return where === "form"
    ? request(`${sim.accountsUrl}/oauth/v2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        rawBody: encoded.toString()
      })
    : request(`${sim.accountsUrl}/oauth/v2/token?${encoded}`, { method: "POST" })
}

describe("access tokens", () => {
  it("accepts Zoho-oauthtoken and Bearer, maps tokens to users in order", async () => {
    expect((await get("alpha")).status).toBe(200)
    expect((await get("beta", "Bearer")).status).toBe(200)
    expect(sim.state.accounts().map(a => a.token)).toEqual(["alpha", "beta"])
    await get("beta")
    expect(sim.state.requests().at(-1)).toMatchObject({ userIndex: 1, userId: sim.state.userId(1) })
  })

  it("answers 401 for a missing, malformed, unknown, expired or revoked token", async () => {
    for (const res of [await get(null), await get("alpha", "Basic"), await get("gamma")]) {
      expect(res.status).toBe(401)
      expect(res.body).toEqual(INVALID)
    }
    const expired = sim.state.issueToken({ userIndex: 0, expired: true })
    expect((await get(expired.accessToken)).status).toBe(401)
    const revoked = sim.state.issueToken({ userIndex: 0 })
    expect((await get(revoked.accessToken)).status).toBe(200)
    sim.state.revokeToken(revoked.accessToken)
    expect((await get(revoked.accessToken)).status).toBe(401)
    const short = sim.state.issueToken({ userIndex: 0, lifetimeSeconds: 30 })
    expect((await get(short.accessToken)).status).toBe(200)
    sim.state.advanceClock(30_001)
    expect((await get(short.accessToken)).status).toBe(401)
  })

  it("answers 403 when the token lacks the operation's scope", async () => {
    const chat = memberChat(sim, 0, c => c.chatType === "group_chat" && c.lastMessage !== null)
    const readOnly = sim.state.issueToken({ userIndex: 0, scopes: ["ZohoCliq.Chats.READ"] }).accessToken
    expect((await get(readOnly)).status).toBe(200)
    const put = await request(`${sim.apiBaseUrl}/chats/${chat.chatId}`, {
      method: "PUT",
      token: readOnly,
      body: { operation: "close_chat" }
    })
    expect(put.status).toBe(403)
    expect(Object.keys(put.body as object)).toEqual(["message"])

    const messages = sim.state.issueToken({ userIndex: 0, scopes: ["ZohoCliq.Messages.UPDATE"] }).accessToken
    const markRead = await request(`${sim.apiBaseUrl}/chats/${chat.chatId}`, {
      method: "PUT",
      token: messages,
      body: { operation: "mark_as_read", last_message_id: chat.lastMessage!.messageId }
    })
    expect(markRead.status).toBe(204)
    const rename = await request(`${sim.apiBaseUrl}/chats/${chat.chatId}`, {
      method: "PUT",
      token: messages,
      body: { operation: "update_title", title: "nope" }
    })
    expect(rename.status).toBe(403)

    const update = sim.state.issueToken({ userIndex: 0, scopes: ["ZohoCliq.Chats.UPDATE"] }).accessToken
    const remove = await request(`${sim.apiBaseUrl}/chats/${chat.chatId}/members?user_ids=1`, {
      method: "DELETE",
      token: update
    })
    expect(remove.status).toBe(403)
  })
})

describe("POST /oauth/v2/token", () => {
  it("mints Zoho-shaped access tokens from a form body or the query string, without a new refresh token", async () => {
    const form = await mint({ refresh_token: "rt-b" })
    expect(form.status).toBe(200)
    const body = form.body as Record<string, unknown>
    expect(body).toEqual({
      access_token: expect.stringMatching(TOKEN_SHAPE),
      api_domain: sim.url,
      token_type: "Bearer",
      expires_in: 3600
    })
    expect((await get(body.access_token as string)).status).toBe(200)
    const query = await mint({ refresh_token: "rt-b" }, "query")
    expect((query.body as Record<string, unknown>).access_token).toMatch(TOKEN_SHAPE)
    const readOnly = (await mint({ refresh_token: "rt-read" })).body as { access_token: string }
    const create = await request(`${sim.apiBaseUrl}/chats`, {
      method: "POST",
      token: readOnly.access_token,
      body: { chat_type: "direct_message", user_id: "1" }
    })
    expect(create.status).toBe(403)
  })

  it("refuses bad grants with HTTP 200 error bodies", async () => {
    expect((await mint({ refresh_token: "nope" })).body).toEqual({ error: "invalid_code" })
    expect((await mint({ refresh_token: "rt-b", client_secret: "wrong" })).body).toEqual({ error: "invalid_client" })
    expect((await mint({ refresh_token: "rt-b", client_id: "other" })).body).toEqual({ error: "invalid_client" })
    const grant = await mint({ refresh_token: "rt-b", grant_type: "authorization_code" })
    expect(grant.status).toBe(200)
    expect(grant.body).toEqual({ error: "unsupported_grant_type" })
    const wrongMethod = await request(`${sim.accountsUrl}/oauth/v2/token`)
    expect(wrongMethod.status).toBe(405)
  })

  it("tokens expire after their lifetime", async () => {
    const { access_token } = (await mint({ refresh_token: "rt-b" })).body as { access_token: string }
    sim.state.advanceClock(3_599_000)
    expect((await get(access_token)).status).toBe(200)
    sim.state.advanceClock(1_001)
    expect((await get(access_token)).status).toBe(401)
    expect((await get(access_token)).body).toEqual(INVALID)
  })

  it("allows 10 mints per refresh token per 10 minutes, then answers Access Denied with HTTP 200", async () => {
    sim.state.advanceClock(10 * 60_000)
    for (let i = 0; i < 10; i++) {
      expect((await mint({ refresh_token: "rt-a" })).body).toHaveProperty("access_token")
    }
    const refused = await mint({ refresh_token: "rt-a" })
    expect(refused.status).toBe(200)
    expect(refused.body).toEqual({
      error: "Access Denied",
      error_description: "You have made too many requests continuously. Please try again after some time."
    })
    sim.state.advanceClock(10 * 60_000 + 1)
    expect((await mint({ refresh_token: "rt-a" })).body).toHaveProperty("access_token")
  })

  it("keeps at most 10 live access tokens per refresh token, revoking the oldest", async () => {
    sim.state.advanceClock(3_600_000)
    const tokens: Array<string> = []
    for (let i = 0; i < 10; i++) {
      tokens.push(((await mint({ refresh_token: "rt-b" })).body as { access_token: string }).access_token)
    }
    for (const token of tokens) expect((await get(token)).status).toBe(200)
    sim.state.advanceClock(10 * 60_000 + 1)
    const eleventh = ((await mint({ refresh_token: "rt-b" })).body as { access_token: string }).access_token
    expect((await get(eleventh)).status).toBe(200)
    expect((await get(tokens[0]!)).status).toBe(401)
    expect((await get(tokens[1]!)).status).toBe(200)
  })

  it("scales the lifetime and the mint window with the time scale", async () => {
    const fast = await startSimulator({ chats: 10, seed: 1, timeScale: 0.001, accessTokenLifetimeSeconds: 1000 })
    try {
      const mintFast = () =>
        request(
          `${fast.accountsUrl}/oauth/v2/token?grant_type=refresh_token&client_id=sim-client-id&client_secret=sim-client-secret&refresh_token=sim-refresh-1`,
          { method: "POST" }
        )
      const res = await mintFast()
      const { access_token, expires_in } = res.body as { access_token: string; expires_in: number }
      expect(expires_in).toBe(1)
      expect((await client(fast).get("/chats")).status).toBe(200)
      const ok = await request(`${fast.apiBaseUrl}/chats`, { token: access_token })
      expect(ok.status).toBe(200)
      for (let i = 1; i < 10; i++) expect((await mintFast()).body).toHaveProperty("access_token")
      expect((await mintFast()).body).toMatchObject({ error: "Access Denied" })
      await new Promise(r => setTimeout(r, 1050))
      expect((await request(`${fast.apiBaseUrl}/chats`, { token: access_token })).status).toBe(401)
      expect((await mintFast()).body).toHaveProperty("access_token")
    } finally {
      await fast.close()
    }
  })

  it("revokes a refresh token and everything it minted", async () => {
    const { access_token } = (await mint({ refresh_token: "rt-read" })).body as { access_token: string }
    const revoked = await request(`${sim.accountsUrl}/oauth/v2/token/revoke?token=rt-read`, { method: "POST" })
    expect(revoked.body).toEqual({ status: "success" })
    expect((await get(access_token)).status).toBe(401)
    expect((await mint({ refresh_token: "rt-read" })).body).toEqual({ error: "invalid_code" })
  })
})
