import { type CommandInput, parseCommand } from "@cliq-mirror/core"
import { assert, layer } from "@effect/vitest"
import { Effect, Either, Layer, Option, Redacted } from "effect"
import { TestDatabaseUrl, TestDatabaseUrlLive } from "../../../test/support/database.js"
import { CommandsQuery } from "../src/CommandsQuery.js"
import { CommandsRepo } from "../src/CommandsRepo.js"
import { Database, makeDatabase } from "../src/Database.js"

const DatabaseTest = Layer.scoped(
  Database,
  Effect.flatMap(TestDatabaseUrl, url => makeDatabase({ url: Redacted.make(url) })).pipe(Effect.map(Database.make))
).pipe(Layer.provide(TestDatabaseUrlLive))
const TestLayer = Layer.mergeAll(CommandsQuery.DefaultWithoutDependencies, CommandsRepo.Default).pipe(
  Layer.provideMerge(DatabaseTest)
)

const input = (body: Record<string, unknown>): CommandInput => Either.getOrThrow(parseCommand(body))

const intake = (accountId: string, ...bodies: ReadonlyArray<Record<string, unknown>>) =>
  Effect.flatMap(CommandsRepo, repo => repo.intake(bodies.map(input), accountId)).pipe(
    Effect.map(accepted => accepted.map(a => a.command.id))
  )

const setStatus = (ids: ReadonlyArray<string>, status: string) =>
  Effect.flatMap(Database, db =>
    db.use(
      (_, sql) =>
        sql`update commands set status = ${status}, completed_at = case when ${status} in ('succeeded', 'failed')
          then now() end where id = any(${ids as Array<string>}::uuid[])`
    )
  )

layer(TestLayer, { timeout: "2 minutes" })("CommandsQuery", it => {
  it.effect("ahead: earlier waiting commands of the same accounts and types; running and finished ones are not", () =>
    Effect.gen(function* () {
      const query = yield* CommandsQuery
      const mutes = yield* intake(
        "a1",
        ...Array.from({ length: 6 }, (_, i) => ({ type: "mute_chat", chat_id: `q${i}` }))
      )
      const other = yield* intake("a2", { type: "mute_chat", chat_id: "q0" })
      const titles = yield* intake("a1", { type: "update_title", chat_id: "q9", title: "t" })
      const [last] = yield* intake("a1", { type: "mute_chat", chat_id: "q7" })
      yield* setStatus([mutes[0]!], "running")
      yield* setStatus([mutes[1]!], "succeeded")
      yield* setStatus([mutes[2]!], "waiting_rate_limit")

      const ahead = yield* query.ahead({ accountIds: ["a1"], types: ["mute_chat"], commandIds: [last!, mutes[3]!] })
      // mutes 2 (waiting), 3, 4, 5 are ahead of the last one; mutes 0 (running) and 1 (done) hold no place.
      assert.strictEqual(ahead.get(last!), 4)
      assert.strictEqual(ahead.get(mutes[3]!), 1)
      const both = yield* query.ahead({ accountIds: ["a1", "a2"], types: ["mute_chat"], commandIds: [last!] })
      assert.strictEqual(both.get(last!), 5)
      const wider = yield* query.ahead({
        accountIds: ["a1"],
        types: ["mute_chat", "update_title"],
        commandIds: [last!, mutes[1]!]
      })
      assert.strictEqual(wider.get(last!), 5)
      assert.isFalse(wider.has(mutes[1]!))
      assert.lengthOf(other, 1)
      assert.lengthOf(titles, 1)
    })
  )

  it.effect("list: keyset pages over commands taken in by one transaction (equal created_at) and by many", () =>
    Effect.gen(function* () {
      const query = yield* CommandsQuery
      yield* intake("b1", ...Array.from({ length: 9 }, (_, i) => ({ type: "close_chat", chat_id: `l${i}` })))
      for (let i = 0; i < 4; i++) yield* intake("b1", { type: "leave_chat", chat_id: `m${i}` })
      const all = yield* query.list({ filters: { accountId: "b1" }, limit: 1000 })
      assert.strictEqual(all.rows.length, 13)
      assert.isTrue(Option.isNone(all.next))
      const paged: Array<string> = []
      let after: Option.Option<{ readonly createdAt: string; readonly id: string }> = Option.none()
      do {
        const page = yield* query.list({ filters: { accountId: "b1" }, limit: 2, after: Option.getOrUndefined(after) })
        paged.push(...page.rows.map(r => r.id))
        after = page.next
      } while (Option.isSome(after))
      assert.deepStrictEqual(
        paged,
        all.rows.map(r => r.id)
      )
      const times = all.rows.map(r => r.createdAt.getTime())
      assert.deepStrictEqual(
        times,
        [...times].sort((a, b) => b - a)
      )
      const leaves = yield* query.list({ filters: { accountId: "b1", types: ["leave_chat"] }, limit: 10 })
      assert.deepStrictEqual(
        leaves.rows.map(r => r.chatId),
        ["m3", "m2", "m1", "m0"]
      )
    })
  )

  it.effect("retry: only a failed command, back in the outbox; otherwise says why", () =>
    Effect.gen(function* () {
      const query = yield* CommandsQuery
      const [failed, queued] = yield* intake(
        "c1",
        { type: "close_chat", chat_id: "r1" },
        { type: "close_chat", chat_id: "r2" }
      )
      yield* setStatus([failed!], "failed")
      const retried = yield* query.retry(failed!)
      assert.strictEqual(retried._tag, "Retried")
      if (retried._tag === "Retried") {
        assert.strictEqual(retried.command.status, "queued")
        assert.strictEqual(retried.command.attempts, 0)
        assert.isNull(retried.command.completedAt)
      }
      assert.deepStrictEqual(yield* query.retry(failed!), { _tag: "NotRetryable", status: "queued" })
      assert.deepStrictEqual(yield* query.retry(queued!), { _tag: "NotRetryable", status: "queued" })
      assert.deepStrictEqual(yield* query.retry("00000000-0000-4000-8000-000000000000"), { _tag: "Missing" })
    })
  )
})
