import { LogFormat, scrubSecrets, structuredLogger } from "@cliq-mirror/core"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Logger } from "effect"

const logfmt = (message: ReadonlyArray<unknown>) => Logger.test(structuredLogger(Logger.logfmtLogger), message)

describe("log lines", () => {
  it("carry one message= key; further arguments become fields", () => {
    const line = logfmt(["heartbeat skipped", { reason: "timeout", attempts: 2 }, "second text"])
    assert.strictEqual(line.match(/message=/g)?.length, 1, line)
    assert.include(line, 'message="heartbeat skipped"')
    assert.include(line, "reason=timeout")
    assert.include(line, "attempts=2")
    assert.include(line, 'detail="second text"')
  })

  it("never gain a second message= from a field of that name", () => {
    const line = logfmt(["stream failed", { code: "RateBudgetError", message: "share is not declared" }])
    assert.strictEqual(line.match(/message=/g)?.length, 1, line)
    assert.include(line, 'detail="share is not declared"')
    assert.include(line, "code=RateBudgetError")
  })

  it("as JSON, are one object with the fields under annotations", () => {
    const line = Logger.test(structuredLogger(Logger.jsonLogger), ["page written", { account: "a1", chats: 3 }])
    const parsed = JSON.parse(line)
    assert.strictEqual(parsed.message, "page written")
    assert.deepStrictEqual(parsed.annotations, { account: "a1", chats: 3 })
  })

  it("hide passwords in URLs and bearer tokens", () => {
    const line = logfmt([
      "connect failed postgres://mirror:s3cret@db:5432/cliq_mirror",
      { url: "rediss://:hunter2@cache:6380/0", header: "Authorization: Bearer abc.def" }
    ])
    for (const secret of ["s3cret", "hunter2", "abc.def"]) assert.notInclude(line, secret)
    assert.include(line, "postgres://mirror:***@db:5432/cliq_mirror")
    assert.strictEqual(scrubSecrets("https://cliq.zoho.com/api/v3?x=1"), "https://cliq.zoho.com/api/v3?x=1")
  })

  it.effect("LOG_FORMAT takes logfmt, json or pretty and names the rule otherwise", () =>
    Effect.gen(function* () {
      const read = (value: string) =>
        LogFormat.pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["LOG_FORMAT", value]]))),
          Effect.either
        )
      for (const format of ["logfmt", "json", "pretty", "JSON"]) assert.strictEqual((yield* read(format))._tag, "Right")
      const bad = yield* read("xml")
      assert.strictEqual(bad._tag, "Left")
    })
  )
})
