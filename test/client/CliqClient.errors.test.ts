import type { Account } from "@cliq-mirror/core/Accounts/Account"
import { type AccountClient, CliqClient, type CliqClientOptions, isChatResult } from "@cliq-mirror/core/Cliq/CliqClient"
import { type CliqError, classify, toErrorInfo } from "@cliq-mirror/core/Cliq/Errors"
import { ChatId, UserId } from "@cliq-mirror/core/Cliq/Ids"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { clearRedisPrefix } from "../support/redis.js"
import { clientLayer, closedPort, lastSeq, requestsOf, Sim, simLayer, staticAccount, uniquePrefix } from "./support.js"

const prefix = uniquePrefix()

const withClient = <A, E>(
  body: (client: AccountClient, sim: Sim["Type"]) => Effect.Effect<A, E>,
  options: { readonly account?: (sim: Sim["Type"]) => Account; readonly config?: Partial<CliqClientOptions> } = {}
) =>
  Effect.gen(function* () {
    const sim = yield* Sim
    sim.state.clearFaults()
    const account = options.account?.(sim) ?? staticAccount(sim, "sim-token-1")
    return yield* body((yield* CliqClient).forAccount(account), sim)
  }).pipe(
    Effect.provide(clientLayer(prefix, options.config)),
    Effect.ensuring(Effect.promise(() => clearRedisPrefix(prefix)))
  )

const failure = <A>(effect: Effect.Effect<A, CliqError>) => Effect.flip(effect)

const someChat = (sim: Sim["Type"], userIndex = 0) => {
  const mine = sim.state.accounts()[userIndex]!.userId
  const people = sim.state
    .people()
    .filter(p => p.active && !p.account && !p.guest)
    .map(p => p.userId)
  return ChatId.make(
    sim.state.createChat({
      chatType: "group_chat",
      title: "Errors",
      participantIds: [mine, ...people.slice(0, 2)],
      creatorId: mine
    }).chatId
  )
}

layer(simLayer(), { excludeTestServices: true, timeout: "60 seconds" })("CliqClient failures", it => {
  describe("throttling", () => {
    it.effect("429 is Throttled with the operation's bucket", () =>
      withClient((client, sim) =>
        Effect.gen(function* () {
          sim.state.injectFault({ operation: "getChat", kind: "throttle", shape: "429" })
          const error = yield* failure(client.getChat(someChat(sim)))
          expect(error).toMatchObject({ _tag: "CliqThrottled", operation: "getChat", bucket: "chats.get", status: 429 })
          expect(classify(error)).toBe("rate_limited")
        })
      )
    )

    it.effect("400 request_limit_exceeded is Throttled too", () =>
      withClient((client, sim) =>
        Effect.gen(function* () {
          sim.state.injectFault({ operation: "updateTitle", kind: "throttle", shape: "400" })
          const error = yield* failure(client.updateTitle(someChat(sim), "Renamed"))
          expect(error).toMatchObject({
            _tag: "CliqThrottled",
            bucket: "chats.update",
            status: 400,
            code: "request_limit_exceeded"
          })
          expect(classify(error)).toBe("rate_limited")
        })
      )
    )

    it.effect("the simulator's real throttle: the 21st members call in a minute is Throttled", () =>
      withClient(
        (client, sim) =>
          Effect.gen(function* () {
            const chatId = someChat(sim, 2)
            for (let i = 0; i < 20; i++) yield* client.listMembers(chatId)
            const error = yield* failure(client.listMembers(chatId))
            expect(error).toMatchObject({ _tag: "CliqThrottled", bucket: "members.list" })
            expect(sim.state.violations().some(v => v.bucket === "members.list" && v.kind === "threshold")).toBe(true)
          }),
        { account: sim => staticAccount(sim, "sim-token-3") }
      )
    )
  })

  describe("retryable", () => {
    it.effect("*_failed codes on 400 are Retryable by code", () =>
      withClient((client, sim) =>
        Effect.gen(function* () {
          sim.state.injectFault({ operation: "closeChat", kind: "error_code", code: "chat_operation_failed" })
          const error = yield* failure(client.closeChat(someChat(sim)))
          expect(error).toMatchObject({
            _tag: "CliqRetryable",
            status: 400,
            code: "chat_operation_failed",
            reason: "code",
            outcomeUnknown: false
          })
          expect(classify(error)).toBe("retryable")
        })
      )
    )

    it.effect("503 service_unavailable and a plain 500 are Retryable", () =>
      withClient((client, sim) =>
        Effect.gen(function* () {
          const chatId = someChat(sim)
          sim.state.injectFault({ operation: "addMembers", kind: "error_code", code: "service_unavailable" })
          const unavailable = yield* failure(client.addMembers(chatId, [UserId.make("1")]))
          expect(unavailable).toMatchObject({ _tag: "CliqRetryable", status: 503, code: "service_unavailable" })
          sim.state.injectFault({ operation: "getChat", kind: "status", status: 500 })
          const server = yield* failure(client.getChat(chatId))
          expect(server).toMatchObject({ _tag: "CliqRetryable", status: 500, reason: "status" })
          expect(toErrorInfo(server).code).toBe("http_500")
        })
      )
    )

    it.effect("a timeout is Retryable with an unknown outcome", () =>
      withClient(
        (client, sim) =>
          Effect.gen(function* () {
            sim.state.injectFault({ operation: "muteChat", kind: "timeout", holdMs: 5_000 })
            const started = Date.now()
            const error = yield* failure(client.muteChat(someChat(sim)))
            expect(error).toMatchObject({ _tag: "CliqRetryable", reason: "timeout", outcomeUnknown: true })
            expect(Date.now() - started).toBeLessThan(4_000)
          }),
        { config: { requestTimeout: "400 millis" } }
      )
    )

    it.effect("a reset after the change took effect is Retryable with an unknown outcome", () =>
      withClient((client, sim) =>
        Effect.gen(function* () {
          const chatId = someChat(sim)
          sim.state.injectFault({ operation: "updateTitle", kind: "reset", when: "after_effect" })
          const error = yield* failure(client.updateTitle(chatId, "Applied anyway"))
          expect(error).toMatchObject({ _tag: "CliqRetryable", reason: "reset", outcomeUnknown: true })
          expect(sim.state.chat(chatId)!.title).toBe("Applied anyway")
          // The kept-alive connection was destroyed; the next call gets a new one.
          expect((yield* client.getChat(chatId)).chat.name).toBe("Applied anyway")
        })
      )
    )

    it.effect("a refused connection was never sent", () =>
      Effect.gen(function* () {
        const port = yield* closedPort
        yield* withClient(
          client =>
            Effect.gen(function* () {
              const error = yield* failure(
                client.createChat({ chat_type: "direct_message", user_id: UserId.make("1") })
              )
              expect(error).toMatchObject({ _tag: "CliqRetryable", reason: "transport", outcomeUnknown: false })
            }),
          { account: sim => staticAccount(sim, "sim-token-1", { baseUrl: `http://127.0.0.1:${port}/api/v3` }) }
        )
      })
    )
  })

  describe("auth and permanent", () => {
    it.effect("a bad static token is Unauthorized after exactly one request", () =>
      withClient(
        (client, sim) =>
          Effect.gen(function* () {
            const since = lastSeq(sim)
            const error = yield* failure(client.listChats())
            expect(error).toMatchObject({ _tag: "CliqUnauthorized", status: 401 })
            expect(classify(error)).toBe("auth")
            expect(sim.state.requests(since).map(r => r.status)).toEqual([401])
          }),
        { account: sim => staticAccount(sim, "1000.not.valid") }
      )
    )

    it.effect("a token without the scope is Forbidden", () =>
      withClient(
        (client, sim) =>
          Effect.gen(function* () {
            const error = yield* failure(client.muteChat(someChat(sim)))
            expect(error).toMatchObject({ _tag: "CliqForbidden", status: 403 })
            expect(classify(error)).toBe("auth")
          }),
        {
          account: sim =>
            staticAccount(sim, sim.state.issueToken({ userIndex: 0, scopes: ["ZohoCliq.Chats.READ"] }).accessToken)
        }
      )
    )

    it.effect("an unknown URL is NotFound", () =>
      withClient(
        client =>
          Effect.gen(function* () {
            const error = yield* failure(client.listChats())
            expect(error).toMatchObject({ _tag: "CliqNotFound", status: 404 })
            expect(classify(error)).toBe("permanent")
          }),
        { account: sim => staticAccount(sim, "sim-token-1", { baseUrl: `${sim.url}/api/v9` }) }
      )
    )

    it.effect("an unknown chat is Permanent chat_access_denied; a DM rename is refused by code", () =>
      withClient((client, sim) =>
        Effect.gen(function* () {
          const denied = yield* failure(client.getChat(ChatId.make("1234567890123456789")))
          expect(denied).toMatchObject({ _tag: "CliqPermanent", status: 400, code: "chat_access_denied" })
          expect(classify(denied)).toBe("permanent")
          expect(toErrorInfo(denied).code).toBe("chat_access_denied")
          const [other] = sim.state.people().filter(p => p.active && !p.account && !p.guest)
          const dm = sim.state.createChat({
            chatType: "direct_message",
            participantIds: [sim.state.accounts()[0]!.userId, other!.userId]
          })
          const rename = yield* failure(client.updateTitle(ChatId.make(dm.chatId), "Not for DMs"))
          expect(rename).toMatchObject({ _tag: "CliqPermanent", code: "contact_rename_not_supported" })
        })
      )
    )

    it.effect("a request breaking a published limit is refused before sending", () =>
      withClient((client, sim) =>
        Effect.gen(function* () {
          const since = lastSeq(sim)
          const blank = yield* failure(client.updateTitle(someChat(sim), "   "))
          expect(blank).toMatchObject({ _tag: "CliqInvalidRequest", path: "title" })
          const tooMany = yield* failure(client.listChats({ limit: 101 }))
          expect(tooMany).toMatchObject({ _tag: "CliqInvalidRequest", path: "limit" })
          expect(classify(tooMany)).toBe("permanent")
          expect(sim.state.requests(since)).toEqual([])
        })
      )
    )
  })

  describe("decoding", () => {
    it.effect("a body that is not JSON is a DecodeError", () =>
      withClient((client, sim) =>
        Effect.gen(function* () {
          sim.state.injectFault({ operation: "getChat", kind: "invalid_json" })
          const error = yield* failure(client.getChat(someChat(sim)))
          expect(error).toMatchObject({ _tag: "CliqDecodeError", status: 200, path: "" })
          expect(error._tag === "CliqDecodeError" && error.sample).toContain("chat_id")
          expect(classify(error)).toBe("permanent")
        })
      )
    )

    it.effect("a body of the wrong shape names the field path", () =>
      withClient((client, sim) =>
        Effect.gen(function* () {
          sim.state.injectFault({ operation: "getChat", kind: "wrong_shape" })
          const error = yield* failure(client.getChat(someChat(sim)))
          expect(error).toMatchObject({ _tag: "CliqDecodeError", path: "data" })
          sim.state.injectFault({ operation: "listMembers", kind: "wrong_shape", body: { members: [{ name: "x" }] } })
          const members = yield* failure(client.listMembers(someChat(sim)))
          expect(members).toMatchObject({ _tag: "CliqDecodeError", path: "members[0].user_id" })
        })
      )
    )

    it.effect("a malformed item is reported in place while the rest of the page decodes", () =>
      withClient((client, sim) =>
        Effect.gen(function* () {
          const good = (yield* client.listChats({ limit: 2 })).items
          expect(good).toHaveLength(2)
          const [a, b] = good.map(item => item.raw as Record<string, unknown>)
          sim.state.injectFault({
            operation: "listChats",
            kind: "status",
            status: 200,
            body: { chats: [{ ...a, future_field: { kept: true } }, { chat_id: "9", created_time: "soon" }, b] }
          })
          const page = yield* client.listChats({ limit: 3 })
          expect(page.items.map(isChatResult)).toEqual([true, false, true])
          const bad = page.items[1]!
          expect("error" in bad && bad.error.path).toBe("created_time")
          expect(bad.raw).toEqual({ chat_id: "9", created_time: "soon" })
          expect(page.items[0]!.raw).toMatchObject({ future_field: { kept: true } })
        })
      )
    )
  })

  it.effect("the request log shows no retries for a retryable failure", () =>
    withClient((client, sim) =>
      Effect.gen(function* () {
        const chatId = someChat(sim)
        const since = lastSeq(sim)
        sim.state.injectFault({ operation: "getChat", kind: "status", status: 502 })
        yield* failure(client.getChat(chatId))
        expect(requestsOf(sim, "getChat", since).map(r => r.status)).toEqual([502])
      })
    )
  )
})
