import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { classifyResponse } from "../src/Cliq/Classify.js"
import { type CliqError, CliqErrorSchema, classify, toErrorInfo } from "../src/Cliq/Errors.js"
import { decodeFailure } from "../src/Cliq/ParseIssue.js"
import { redactSample } from "../src/Cliq/Redact.js"
import { classifyTransport, timedOut } from "../src/Cliq/Transport.js"

const NOW = 1_750_000_000_000
const body = (value: unknown) => JSON.stringify(value)

describe("classifyResponse", () => {
  const cases: ReadonlyArray<{
    readonly name: string
    readonly status: number
    readonly body: string
    readonly tag: CliqError["_tag"]
    readonly klass: ReturnType<typeof classify>
    readonly code: string
  }> = [
    {
      name: "429 without a code",
      status: 429,
      body: body({ message: "Too many requests within a certain time frame." }),
      tag: "CliqThrottled",
      klass: "rate_limited",
      code: "rate_limited"
    },
    {
      name: "400 request_limit_exceeded",
      status: 400,
      body: body({ code: "request_limit_exceeded", message: "You have exceeded the URL throttle limits." }),
      tag: "CliqThrottled",
      klass: "rate_limited",
      code: "request_limit_exceeded"
    },
    {
      name: "400 chat_operation_failed",
      status: 400,
      body: body({ code: "chat_operation_failed", message: "x" }),
      tag: "CliqRetryable",
      klass: "retryable",
      code: "chat_operation_failed"
    },
    {
      name: "400 member_add_failed",
      status: 400,
      body: body({ code: "member_add_failed", message: "x" }),
      tag: "CliqRetryable",
      klass: "retryable",
      code: "member_add_failed"
    },
    {
      name: "503 service_unavailable",
      status: 503,
      body: body({ code: "service_unavailable", message: "down" }),
      tag: "CliqRetryable",
      klass: "retryable",
      code: "service_unavailable"
    },
    {
      name: "500 with only a message",
      status: 500,
      body: body({ message: "Internal error" }),
      tag: "CliqRetryable",
      klass: "retryable",
      code: "http_500"
    },
    {
      name: "502 with an HTML body",
      status: 502,
      body: "<html>bad gateway</html>",
      tag: "CliqRetryable",
      klass: "retryable",
      code: "http_502"
    },
    {
      name: "401",
      status: 401,
      body: body({ message: "Request was rejected because of invalid AuthToken." }),
      tag: "CliqUnauthorized",
      klass: "auth",
      code: "unauthorized"
    },
    {
      name: "403",
      status: 403,
      body: body({ message: "scope" }),
      tag: "CliqForbidden",
      klass: "auth",
      code: "forbidden"
    },
    { name: "404 unknown URL", status: 404, body: "", tag: "CliqNotFound", klass: "permanent", code: "not_found" },
    {
      name: "400 chat_access_denied",
      status: 400,
      body: body({ code: "chat_access_denied", message: "no" }),
      tag: "CliqPermanent",
      klass: "permanent",
      code: "chat_access_denied"
    },
    {
      name: "400 invalid.inputs.submitted",
      status: 400,
      body: body({ code: "invalid.inputs.submitted", message: "bad" }),
      tag: "CliqPermanent",
      klass: "permanent",
      code: "invalid.inputs.submitted"
    },
    { name: "405 without a body", status: 405, body: "", tag: "CliqPermanent", klass: "permanent", code: "http_405" },
    {
      name: "404 carrying an endpoint code",
      status: 404,
      body: body({ code: "invalid_request", message: "x" }),
      tag: "CliqPermanent",
      klass: "permanent",
      code: "invalid_request"
    }
  ]

  for (const c of cases) {
    it(c.name, () => {
      const error = classifyResponse("listChats", { status: c.status, body: c.body }, NOW)
      expect(error._tag).toBe(c.tag)
      expect(classify(error)).toBe(c.klass)
      expect(toErrorInfo(error).code).toBe(c.code)
    })
  }

  it("names the bucket of the operation and honours Retry-After", () => {
    const error = classifyResponse("markAsRead", { status: 429, body: "", retryAfter: "120" }, NOW)
    expect(error).toMatchObject({ _tag: "CliqThrottled", operation: "markAsRead", bucket: "chats.update" })
    expect(error).toMatchObject({ retryAfterMs: 120_000, lockedUntil: NOW + 120_000 })
    const dated = classifyResponse(
      "getChat",
      { status: 429, body: "", retryAfter: new Date(NOW + 30_000).toUTCString() },
      NOW
    )
    expect(dated).toMatchObject({ retryAfterMs: 30_000, lockedUntil: NOW + 30_000 })
    const noHeader = classifyResponse("getChat", { status: 429, body: "" }, NOW)
    expect(noHeader).toMatchObject({ _tag: "CliqThrottled", bucket: "chats.get" })
    expect(noHeader._tag === "CliqThrottled" && noHeader.lockedUntil).toBeUndefined()
  })

  it("keeps the upstream code and message in the persisted form", () => {
    const error = classifyResponse(
      "updateTitle",
      { status: 400, body: body({ code: "chat_title_empty", message: "Title is empty" }) },
      NOW
    )
    expect(toErrorInfo(error)).toEqual({
      code: "chat_title_empty",
      message: "updateTitle: Title is empty (chat_title_empty)"
    })
  })
})

describe("classifyTransport", () => {
  it("a refused connection was never sent", () => {
    const error = classifyTransport("createChat", Object.assign(new Error("connect"), { code: "ECONNREFUSED" }))
    expect(error).toMatchObject({ reason: "transport", outcomeUnknown: false })
    expect(classify(error)).toBe("retryable")
  })

  it("a refused connection inside an AggregateError (happy eyeballs) was never sent", () => {
    const cause = new AggregateError([Object.assign(new Error("a"), { code: "ECONNREFUSED" })], "all failed")
    expect(classifyTransport("createChat", cause)).toMatchObject({ outcomeUnknown: false })
  })

  it("a reset, even nested, leaves the outcome unknown", () => {
    const nested = new Error("fetch failed", {
      cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" })
    })
    expect(classifyTransport("forkChat", nested)).toMatchObject({ reason: "reset", outcomeUnknown: true })
    expect(classifyTransport("forkChat", Object.assign(new Error("x"), { code: "ECONNRESET" }))).toMatchObject({
      reason: "reset",
      outcomeUnknown: true
    })
  })

  it("an unknown cause is treated as possibly sent", () => {
    expect(classifyTransport("leaveChat", new Error("??"))).toMatchObject({ reason: "transport", outcomeUnknown: true })
  })

  it("a timeout is retryable with an unknown outcome", () => {
    const error = timedOut("addMembers", 30_000)
    expect(error).toMatchObject({ reason: "timeout", outcomeUnknown: true })
    expect(toErrorInfo(error).code).toBe("timeout")
  })
})

describe("persisted errors", () => {
  it("every error class survives an encode/decode round trip", () => {
    const errors: ReadonlyArray<CliqError> = [
      classifyResponse("listChats", { status: 429, body: "", retryAfter: "5" }, NOW),
      classifyResponse("listChats", { status: 401, body: "" }, NOW),
      classifyResponse("listChats", { status: 403, body: body({ code: "invalid_access" }) }, NOW),
      classifyResponse("listChats", { status: 404, body: "" }, NOW),
      classifyResponse("listChats", { status: 400, body: body({ code: "param_missing" }) }, NOW),
      classifyResponse("listChats", { status: 500, body: "" }, NOW),
      timedOut("listChats", 10)
    ]
    for (const error of errors) {
      const json = JSON.parse(JSON.stringify(Schema.encodeSync(CliqErrorSchema)(error))) as unknown
      expect(Schema.decodeUnknownSync(CliqErrorSchema)(json)).toEqual(error)
    }
  })
})

describe("decode failures", () => {
  it("name the field path and carry a masked, truncated sample", () => {
    const payload = {
      chats: [{ chat_id: "1" }, { chat_id: "2", created_time: "yesterday", access_token: "1000.secret.secret" }]
    }
    const Page = Schema.Struct({
      chats: Schema.Array(Schema.Struct({ chat_id: Schema.String, created_time: Schema.optional(Schema.Number) }))
    })
    const result = Schema.decodeUnknownEither(Page)(payload)
    if (Either.isRight(result)) throw new Error("expected a decode failure")
    const error = decodeFailure("listChats", 200, payload, result.left)
    expect(error.path).toBe("chats[1].created_time")
    expect(error.sample).toBe('"yesterday"')
    expect(classify(error)).toBe("permanent")
  })

  it("redactSample masks token-like keys and truncates", () => {
    const sample = redactSample({
      access_token: "1000.abc.def",
      nested: { client_secret: "s3cr3t" },
      long: "x".repeat(500)
    })
    expect(sample).not.toContain("1000.abc.def")
    expect(sample).not.toContain("s3cr3t")
    expect(sample.length).toBeLessThanOrEqual(201)
  })
})
