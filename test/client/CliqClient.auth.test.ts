import { randomBytes } from "node:crypto"
import type { Account } from "@cliq-mirror/core/Accounts/Account"
import { type AccountClient, CliqClient, type ForAccountOptions } from "@cliq-mirror/core/Cliq/CliqClient"
import { type CliqError, classify, toErrorInfo } from "@cliq-mirror/core/Cliq/Errors"
import { ChatId } from "@cliq-mirror/core/Cliq/Ids"
import type { Operation } from "@cliq-mirror/core/Cliq/Operations"
import type { RefreshTokenConfig } from "@cliq-mirror/simulator"
import { afterAll, expect, layer } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { Redis } from "ioredis"
import { clearRedisPrefix, testRedisUrl } from "../support/redis.js"
import {
  captureLogs,
  clientLayer,
  closedPort,
  lastSeq,
  refreshAccount,
  requestsOf,
  Sim,
  simLayer,
  staticAccount,
  uniqueId,
  uniquePrefix
} from "./support.js"

const CLIENT_ID = "1000.TESTCLIENTID"
const CLIENT_SECRET = `client-secret-${randomBytes(6).toString("hex")}`
/** One refresh token per test, so that the simulator's mint quota of one test never touches another. */
const REFRESH_TOKENS: ReadonlyArray<RefreshTokenConfig> = Array.from({ length: 16 }, (_, i) => ({
  refreshToken: `1000.refresh-${i}-${randomBytes(8).toString("hex")}`,
  clientId: CLIENT_ID,
  clientSecret: CLIENT_SECRET,
  userIndex: 0
}))
const credentials = (i: number) => REFRESH_TOKENS[i]!

const prefix = uniquePrefix()

/** A group chat of account 0, with the throttle reset so that earlier tests' calls do not count. */
const ownChat = (sim: Sim["Type"]) => {
  sim.state.resetThrottle()
  const mine = sim.state.accounts()[0]!.userId
  const [a, b] = sim.state.people().filter(p => p.active && !p.account && !p.guest)
  return ChatId.make(
    sim.state.createChat({ chatType: "group_chat", title: "Auth", participantIds: [mine, a!.userId, b!.userId] }).chatId
  )
}

/** Access tokens minted from one refresh token that the simulator still accepts. */
const liveTokens = (sim: Sim["Type"], refreshToken: string) =>
  [...sim.state.auth.tokens.values()].filter(t => t.refreshToken === refreshToken && !t.revoked)

const revokeAll = (sim: Sim["Type"], refreshToken: string) => {
  for (const t of liveTokens(sim, refreshToken)) sim.state.revokeToken(t.token)
}

const mints = (sim: Sim["Type"], since: number) => requestsOf(sim, "oauthToken", since)

/** The simulator logs a 401 before it knows the operation: name requests by endpoint instead. */
const exchanges = (sim: Sim["Type"], since: number) =>
  sim.state.requests(since).map(r => [r.path.startsWith("/oauth/") ? "token" : `${r.method} ${r.path}`, r.status])

const useClient = <A, E>(
  account: Account,
  body: (client: AccountClient) => Effect.Effect<A, E>,
  options: ForAccountOptions = {}
) =>
  Effect.flatMap(CliqClient, service => body(service.forAccount(account, options))).pipe(
    Effect.provide(clientLayer(prefix))
  )

const redisGet = (key: string) =>
  Effect.acquireUseRelease(
    Effect.sync(() => new Redis(testRedisUrl())),
    redis => Effect.promise(() => Promise.all([redis.get(key), redis.pttl(key)])),
    redis => Effect.sync(() => redis.disconnect())
  )

layer(simLayer({ refreshTokens: REFRESH_TOKENS }), { excludeTestServices: true, timeout: "60 seconds" })(
  "refresh-token flow",
  it => {
    it.effect("mints once and shares the token through Redis with its expiry", () =>
      Effect.gen(function* () {
        const sim = yield* Sim
        const account = refreshAccount(sim, credentials(0))
        const chatId = ownChat(sim)
        const since = lastSeq(sim)
        yield* useClient(account, client => Effect.repeatN(client.getChat(chatId), 2))
        // Another process (a fresh client) finds the cached token and mints nothing.
        yield* useClient(account, client => client.getChat(chatId))
        expect(mints(sim, since)).toHaveLength(1)
        expect(requestsOf(sim, "getChat", since).map(r => r.status)).toEqual([200, 200, 200, 200])
        const [cached, ttl] = yield* redisGet(`${prefix}token:${account.id}`)
        expect(JSON.parse(cached!).token).toBe(liveTokens(sim, credentials(0).refreshToken)[0]!.token)
        expect(ttl).toBeGreaterThan(3_500_000)
      })
    )

    it.effect("a 401 triggers one refresh and one retry", () =>
      Effect.gen(function* () {
        const sim = yield* Sim
        const account = refreshAccount(sim, credentials(1))
        const chatId = ownChat(sim)
        const sent: Array<string> = []
        const beforeSend = (operation: Operation) => Effect.sync(() => sent.push(operation.bucket))
        yield* useClient(
          account,
          client =>
            Effect.gen(function* () {
              yield* client.getChat(chatId)
              revokeAll(sim, credentials(1).refreshToken)
              const since = lastSeq(sim)
              const result = yield* client.getChat(chatId)
              expect(result.chat.chat_id).toBe(chatId)
              expect(exchanges(sim, since)).toEqual([
                [`GET /api/v3/chats/${chatId}`, 401],
                ["token", 200],
                [`GET /api/v3/chats/${chatId}`, 200]
              ])
              // The budget hook sees every request sent, the retry included.
              expect(sent).toEqual(["chats.get", "chats.get", "chats.get"])
            }),
          { beforeSend }
        )
      })
    )

    it.effect("20 concurrent calls rejected with 401 share one refresh", () =>
      Effect.gen(function* () {
        const sim = yield* Sim
        const account = refreshAccount(sim, credentials(2))
        const chatId = ownChat(sim)
        yield* useClient(account, client =>
          Effect.gen(function* () {
            yield* client.getChat(chatId)
            revokeAll(sim, credentials(2).refreshToken)
            const since = lastSeq(sim)
            const results = yield* Effect.all(
              Array.from({ length: 20 }, () => client.getChat(chatId)),
              {
                concurrency: "unbounded"
              }
            )
            expect(results).toHaveLength(20)
            expect(mints(sim, since)).toHaveLength(1)
            expect(requestsOf(sim, "getChat", since).filter(r => r.status === 200)).toHaveLength(20)
          })
        )
      })
    )

    it.effect("a second 401 is final: no loop", () =>
      Effect.gen(function* () {
        const sim = yield* Sim
        const account = refreshAccount(sim, credentials(3))
        const chatId = ownChat(sim)
        yield* useClient(account, client =>
          Effect.gen(function* () {
            yield* client.getChat(chatId)
            const since = lastSeq(sim)
            sim.state.injectFault({ operation: "getChat", kind: "status", status: 401, count: 5 })
            const error = yield* Effect.flip(client.getChat(chatId))
            sim.state.clearFaults()
            expect(error).toMatchObject({ _tag: "CliqUnauthorized" })
            expect(exchanges(sim, since)).toEqual([
              [`GET /api/v3/chats/${chatId}`, 401],
              ["token", 200],
              [`GET /api/v3/chats/${chatId}`, 401]
            ])
          })
        )
      })
    )

    it.effect("two separate clients sharing Redis mint one token between them", () =>
      Effect.gen(function* () {
        const sim = yield* Sim
        const account = refreshAccount(sim, credentials(4))
        const chatId = ownChat(sim)
        const since = lastSeq(sim)
        const burst = useClient(account, client =>
          Effect.all(
            Array.from({ length: 10 }, () => client.getChat(chatId)),
            { concurrency: "unbounded" }
          )
        )
        const [a, b] = yield* Effect.all([burst, burst], { concurrency: 2 })
        expect(a.length + b.length).toBe(20)
        expect(mints(sim, since)).toHaveLength(1)
      })
    )

    it.effect("a refused refresh token marks the account and is not retried", () =>
      Effect.gen(function* () {
        const sim = yield* Sim
        const id = uniqueId("reauth")
        const revoked = refreshAccount(sim, { ...credentials(5), refreshToken: "1000.unknown.refresh" }, id)
        const chatId = ownChat(sim)
        const since = lastSeq(sim)
        const errors = yield* useClient(revoked, client =>
          Effect.forEach([1, 2, 3], () => Effect.flip(client.getChat(chatId)))
        )
        for (const error of errors) {
          expect(error).toMatchObject({ _tag: "CliqNeedsReauth", accountId: id, reason: "invalid_code" })
          expect(classify(error)).toBe("auth")
          expect(toErrorInfo(error).code).toBe("needs_reauthorisation")
        }
        // A restarted process sees the mark too, and does not try again either.
        const status = yield* useClient(revoked, client =>
          Effect.zipRight(Effect.flip(client.listChats()), client.needsReauth)
        )
        expect(Option.getOrUndefined(status)).toMatchObject({ reason: "invalid_code" })
        expect(mints(sim, since)).toHaveLength(1)
        expect(requestsOf(sim, "getChat", since)).toHaveLength(0)

        // New credentials for the same account clear the mark.
        const fixed = refreshAccount(sim, credentials(5), id)
        const after = yield* useClient(fixed, client => Effect.zipRight(client.getChat(chatId), client.needsReauth))
        expect(Option.isNone(after)).toBe(true)
      })
    )

    it.effect("a wrong client secret (invalid_client) needs reauthorisation too", () =>
      Effect.gen(function* () {
        const sim = yield* Sim
        const account = refreshAccount(sim, { ...credentials(6), clientSecret: "wrong-secret" })
        const error = yield* useClient(account, client => Effect.flip(client.listChats()))
        expect(error).toMatchObject({ _tag: "CliqNeedsReauth", reason: "invalid_client" })
      })
    )

    it.effect("an unreachable token endpoint leaves the token unavailable, retryable", () =>
      Effect.gen(function* () {
        const sim = yield* Sim
        const port = yield* closedPort
        const account = { ...refreshAccount(sim, credentials(14)), accountsUrl: `http://127.0.0.1:${port}` }
        const error = yield* useClient(account, client => Effect.flip(client.listChats()))
        expect(error).toMatchObject({ _tag: "CliqTokenUnavailable", reason: "transport" })
        expect(classify(error)).toBe("retryable")
      })
    )

    it.effect("the token endpoint's quota refusal (HTTP 200 error body) stops minting for the window", () =>
      Effect.gen(function* () {
        const sim = yield* Sim
        const config = credentials(7)
        // Someone else used this refresh token's quota up.
        for (let i = 0; i < 10; i++) {
          yield* Effect.promise(() =>
            fetch(`${sim.accountsUrl}/oauth/v2/token`, {
              method: "POST",
              body: new URLSearchParams({
                grant_type: "refresh_token",
                refresh_token: config.refreshToken,
                client_id: config.clientId,
                client_secret: config.clientSecret
              })
            })
          )
        }
        const since = lastSeq(sim)
        const account = refreshAccount(sim, config)
        const started = Date.now()
        const [first, second] = yield* useClient(account, client =>
          Effect.all([Effect.flip(client.listChats()), Effect.flip(client.listChats())])
        )
        expect(first).toMatchObject({ _tag: "CliqTokenUnavailable", reason: "quota" })
        expect(first._tag === "CliqTokenUnavailable" && first.retryAt).toBeGreaterThan(started + 9 * 60_000)
        expect(classify(first)).toBe("retryable")
        expect(second).toMatchObject({ _tag: "CliqTokenUnavailable", reason: "quota" })
        const refusals = mints(sim, since)
        expect(refusals.map(r => [r.status, r.outcome])).toEqual([[200, "oauth_error:Access Denied"]])
      })
    )

    it.effect("never mints more than 10 tokens per refresh token per window", () =>
      Effect.gen(function* () {
        const sim = yield* Sim
        const config = credentials(8)
        const account = refreshAccount(sim, config)
        const chatId = ownChat(sim)
        const since = lastSeq(sim)
        const outcomes = yield* useClient(account, client =>
          Effect.forEach(Array.from({ length: 12 }), () =>
            client.getChat(chatId).pipe(
              Effect.as("ok"),
              Effect.catchAll((e: CliqError) => Effect.succeed(e._tag === "CliqTokenUnavailable" ? e.reason : e._tag)),
              Effect.tap(() => Effect.sync(() => revokeAll(sim, config.refreshToken)))
            )
          )
        )
        expect(outcomes).toEqual([...Array.from({ length: 10 }, () => "ok"), "quota", "quota"])
        expect(mints(sim, since)).toHaveLength(10)
      })
    )

    it.effect("secrets never appear in errors or logs", () =>
      Effect.gen(function* () {
        const sim = yield* Sim
        const lines: Array<string> = []
        const errors: Array<unknown> = []
        const chatId = ownChat(sim)
        const collect = <A>(effect: Effect.Effect<A, CliqError>) =>
          Effect.catchAll(effect, e => Effect.sync(() => errors.push(e)))
        const good = refreshAccount(sim, credentials(9))
        const badGrant = refreshAccount(sim, {
          ...credentials(10),
          refreshToken: `1000.bogus-${randomBytes(4).toString("hex")}`
        })
        const badStatic = staticAccount(
          sim,
          `1000.${randomBytes(16).toString("hex")}.${randomBytes(16).toString("hex")}`
        )
        yield* captureLogs(lines)(
          Effect.gen(function* () {
            yield* useClient(good, client =>
              Effect.gen(function* () {
                yield* collect(client.getChat(chatId))
                revokeAll(sim, credentials(9).refreshToken)
                sim.state.injectFault({ operation: "getChat", kind: "status", status: 401, count: 2 })
                yield* collect(client.getChat(chatId))
                sim.state.clearFaults()
              })
            )
            yield* useClient(badGrant, client => collect(client.getChat(chatId)))
            yield* useClient(badStatic, client => collect(client.getChat(chatId)))
          })
        )
        expect(errors.length).toBeGreaterThanOrEqual(3)
        expect(lines.some(l => l.includes("access token minted"))).toBe(true)
        expect(lines.some(l => l.includes("needs reauthorisation"))).toBe(true)
        const rendered = [
          ...lines,
          ...errors.map(e => JSON.stringify(e)),
          ...errors.map(e => String(e)),
          ...errors.map(e => (e instanceof Error ? `${e.message}\n${e.stack}` : "")),
          ...errors.map(e => JSON.stringify(toErrorInfo(e as CliqError)))
        ].join("\n")
        const secrets = [
          CLIENT_SECRET,
          credentials(9).refreshToken,
          ...[badGrant, badStatic].map(a =>
            Redacted.value(a.auth._tag === "Refresh" ? a.auth.refreshToken : a.auth.token)
          ),
          ...[...sim.state.auth.tokens.keys()].filter(t => t.startsWith("1000."))
        ]
        expect(secrets.length).toBeGreaterThan(5)
        for (const secret of secrets) expect(rendered).not.toContain(secret)
      })
    )
  }
)

layer(simLayer({ refreshTokens: REFRESH_TOKENS, accessTokenLifetimeSeconds: 1 }), {
  excludeTestServices: true,
  timeout: "60 seconds"
})("short-lived access tokens", it => {
  it.effect("20 concurrent calls with an expired token mint exactly one token", () =>
    Effect.gen(function* () {
      const sim = yield* Sim
      const account = refreshAccount(sim, credentials(11))
      const chatId = ownChat(sim)
      yield* useClient(account, client =>
        Effect.gen(function* () {
          yield* client.getChat(chatId)
          yield* Effect.sleep("1200 millis")
          expect(liveTokens(sim, credentials(11).refreshToken).every(t => t.expiresAtMs! < sim.state.now())).toBe(true)
          const since = lastSeq(sim)
          yield* Effect.all(
            Array.from({ length: 20 }, () => client.getChat(chatId)),
            { concurrency: "unbounded" }
          )
          expect(mints(sim, since)).toHaveLength(1)
          expect(requestsOf(sim, "getChat", since).map(r => r.status)).toEqual(Array.from({ length: 20 }, () => 200))
        })
      )
    })
  )

  it.effect("within the refresh margin, one refresh per minimum interval", () =>
    Effect.gen(function* () {
      const sim = yield* Sim
      const account = refreshAccount(sim, credentials(12))
      const chatId = ownChat(sim)
      const since = lastSeq(sim)
      // A 1-second token is always inside the 5-minute margin: every call would refresh if the interval allowed.
      yield* useClient(account, client => Effect.repeatN(client.getChat(chatId), 4))
      expect(mints(sim, since)).toHaveLength(1)
    })
  )

  it.effect("refreshes ahead of expiry, before the upstream refuses the old token", () =>
    Effect.gen(function* () {
      const sim = yield* Sim
      const account = refreshAccount(sim, credentials(13))
      const chatId = ownChat(sim)
      const since = lastSeq(sim)
      // timeScale 0.001: margin 300 ms, minimum interval 60 ms, against a 1000 ms token.
      yield* Effect.gen(function* () {
        const client = (yield* CliqClient).forAccount(account)
        yield* client.getChat(chatId)
        yield* Effect.sleep("100 millis")
        yield* client.getChat(chatId)
        expect(mints(sim, since)).toHaveLength(1)
        yield* Effect.sleep("700 millis")
        yield* client.getChat(chatId)
      }).pipe(Effect.provide(clientLayer(prefix, { timeScale: 0.001 })))
      expect(mints(sim, since)).toHaveLength(2)
      expect(requestsOf(sim, "getChat", since).map(r => r.status)).toEqual([200, 200, 200])
    })
  )
})

afterAll(() => clearRedisPrefix(prefix))
