import { type CommandInput, parseCommand } from "@cliq-mirror/core"
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect, Either, Fiber, Layer } from "effect"
import { DatabaseTest } from "../../../test/support/layers.js"
import { intakeTx } from "../src/CommandIntake.js"
import { CommandsRepo } from "../src/CommandsRepo.js"
import { Database } from "../src/Database.js"

const input = (body: Record<string, unknown>): CommandInput => Either.getOrThrow(parseCommand(body))

const TestLayer = CommandsRepo.Default.pipe(Layer.provideMerge(DatabaseTest))

const visibleOn = (chatId: string) =>
  Effect.flatMap(Database, db =>
    db.use(
      (_, sql) => sql<Array<{ intake_seq: string }>>`
        select intake_seq from commands where chat_id = ${chatId} order by intake_seq`
    )
  ).pipe(Effect.map(rows => rows.map(r => Number(r.intake_seq))))

// A worker that sees a command must see every earlier one (docs/commands.md#intake-order): `intake_seq` is taken at
// insert, so intakes take turns until their commit.
layer(TestLayer, { timeout: "60 seconds", excludeTestServices: true })("command intake", it => {
  it.effect("a request taken in while another's intake is open waits for its commit to take its number", () =>
    Effect.gen(function* () {
      const database = yield* Database
      const repo = yield* CommandsRepo
      // The account exists already: a first intake's new account row would hold the next intake back on its own.
      yield* database.use((_, sql) => sql`insert into accounts (id) values ('acc') on conflict do nothing`)
      const inserted = yield* Deferred.make<number>()
      const release = yield* Deferred.make<void>()
      // The first request's intake, held open after its insert (as a slow transaction would be).
      const first = yield* Effect.fork(
        database.use((_, sql) =>
          sql.begin(async tx => {
            const [accepted] = await intakeTx(tx, [input({ type: "update_title", chat_id: "x1", title: "A" })], "acc")
            await Effect.runPromise(Deferred.succeed(inserted, accepted!.command.intakeSeq))
            await Effect.runPromise(Deferred.await(release))
          })
        )
      )
      const firstSeq = yield* Deferred.await(inserted)
      const second = yield* Effect.fork(
        repo.intake([input({ type: "update_title", chat_id: "x1", title: "B" })], "acc")
      )
      // Let go of the first whatever the checks find, so that a failure does not hold its connection.
      yield* Effect.gen(function* () {
        yield* Effect.sleep("700 millis")
        // While the first is open the second has not taken its number (sequences are not transactional: a number taken
        // now would be seen), and a reader sees nothing of chat x1.
        const [sequence] = yield* database.use(
          (_, sql) => sql<Array<{ last: string }>>`select last_value as last from commands_intake_seq_seq`
        )
        assert.strictEqual(Number(sequence!.last), firstSeq)
        assert.deepStrictEqual(yield* visibleOn("x1"), [])
      }).pipe(Effect.ensuring(Deferred.succeed(release, undefined)))
      yield* Fiber.join(first)
      const [accepted] = yield* Fiber.join(second)
      assert.isAbove(accepted!.command.intakeSeq, firstSeq)
      assert.deepStrictEqual(yield* visibleOn("x1"), [firstSeq, accepted!.command.intakeSeq])
      // The earlier one is its predecessor, as the worker asks.
      assert.isTrue(yield* repo.hasPredecessor("acc", ["x1"], accepted!.command.intakeSeq))
    })
  )

  it.effect("intakes of many requests at once: every command a reader sees has all earlier ones visible", () =>
    Effect.gen(function* () {
      const repo = yield* CommandsRepo
      const gaps: Array<string> = []
      let done = false
      // A reader polling while 40 one-command requests (4 at a time) are taken in on one chat.
      const reader = yield* Effect.fork(
        Effect.gen(function* () {
          while (!done) {
            const seen = yield* visibleOn("x2")
            const all = yield* Effect.flatMap(Database, db =>
              db.use(
                (_, sql) => sql<Array<{ n: string }>>`
                  select count(*) as n from commands where chat_id = 'x2' and intake_seq <= ${seen.at(-1) ?? 0}`
              )
            )
            // Re-read at once: rows numbered below the highest seen that were not visible a moment before.
            if (Number(all[0]!.n) > seen.length)
              gaps.push(`saw ${seen.length}, then ${all[0]!.n} at or below ${seen.at(-1)}`)
            yield* Effect.sleep("2 millis")
          }
        })
      )
      yield* Effect.forEach(
        Array.from({ length: 40 }, (_, i) => i),
        i => repo.intake([input({ type: "update_title", chat_id: "x2", title: `T${i}` })], "acc"),
        { concurrency: 4, discard: true }
      )
      done = true
      yield* Fiber.join(reader)
      assert.deepStrictEqual(gaps, [])
      assert.strictEqual((yield* visibleOn("x2")).length, 40)
    })
  )
})
