import { randomUUID } from "node:crypto"
import { Database, schema } from "@cliq-mirror/db"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { PRUNE_BATCH, pruneCommands } from "../../apps/daemon/src/Retention.js"
import { DatabaseTest } from "../support/layers.js"

const DAY = 86_400_000

const row = (status: string, completedDaysAgo: number | null, createdDaysAgo = 60) => ({
  id: randomUUID(),
  accountId: "a1",
  type: "mute_chat",
  payload: {},
  requestHash: randomUUID(),
  status,
  createdAt: new Date(Date.now() - createdDaysAgo * DAY),
  completedAt: completedDaysAgo === null ? null : new Date(Date.now() - completedDaysAgo * DAY)
})

layer(DatabaseTest, { timeout: "1 minute" })("command retention", it => {
  it.effect("deletes finished commands completed before the retention, in batches, and nothing else", () =>
    Effect.gen(function* () {
      const database = yield* Database
      const old = Array.from({ length: PRUNE_BATCH + 5 }, (_, i) =>
        row(["succeeded", "failed", "cancelled"][i % 3]!, 31 + (i % 7))
      )
      const kept = [
        row("succeeded", 29),
        row("failed", 1),
        row("queued", null),
        row("running", null),
        row("waiting_rate_limit", null),
        row("waiting_reauth", null)
      ]
      yield* database.use(db => db.insert(schema.commands).values([...old, ...kept]))

      assert.strictEqual(yield* pruneCommands(30), old.length)
      const left = yield* database.use(db => db.select({ id: schema.commands.id }).from(schema.commands))
      assert.sameMembers(
        left.map(r => r.id),
        kept.map(r => r.id)
      )
      assert.strictEqual(yield* pruneCommands(30), 0)
    })
  )

  it.effect("finds what it deletes through the partial index, without reading every command", () =>
    Effect.gen(function* () {
      const database = yield* Database
      const plan = yield* database.use(
        (_, sql) => sql`explain (format json)
          select id from commands where status in ('succeeded', 'failed', 'cancelled')
            and completed_at < now() - make_interval(days => 30) limit 1000`
      )
      const text = JSON.stringify(plan)
      assert.include(text, "commands_finished_completed")
    })
  )
})
