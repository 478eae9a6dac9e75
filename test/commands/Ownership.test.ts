import { BatchesRepo, CommandsQuery, CommandsRepo, Database } from "@cliq-mirror/db"
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { withLease } from "../../apps/daemon/src/Commands/Attempt.js"
import { commandTiming } from "../../apps/daemon/src/Commands/Timing.js"
import { DatabaseTest } from "../support/layers.js"
import { command } from "./harness.js"

const Repos = Layer.mergeAll(
  CommandsRepo.Default,
  CommandsQuery.DefaultWithoutDependencies,
  BatchesRepo.DefaultWithoutDependencies
).pipe(Layer.provideMerge(DatabaseTest))
const LEASE_MS = 60_000

const intakeOne = (body: Record<string, unknown>) =>
  Effect.flatMap(CommandsRepo, repo => repo.intake([command(body)], "default")).pipe(
    Effect.map(accepted => accepted[0]!.command)
  )

/** The command's events of these types, oldest first. */
const eventsOf = (id: string) =>
  Effect.flatMap(Database, d =>
    Effect.promise(
      () => d.sql<Array<{ type: string }>>`select type from events where payload ->> 'command_id' = ${id} order by seq`
    )
  ).pipe(Effect.map(rows => rows.map(r => r.type)))

/**
 * An attempt lives on while its lease passes (renewals failing: a lock, a dead connection), and another attempt takes
 * the command over. The first attempt's writes used to land whatever the row showed: it parked the command back to be
 * claimed and sent a third time, or settled it while the new holder's call was in flight. Its writes now change only
 * rows that still show its claim (docs/commands.md, "Decisions").
 */
layer(Repos, { timeout: "1 minute", excludeTestServices: true })(
  "a writer's writes reach only what it still holds",
  it => {
    it.effect("an attempt whose lease passed neither renews, parks nor settles over the attempt that took over", () =>
      Effect.gen(function* () {
        const repo = yield* CommandsRepo
        const queued = yield* intakeOne({ type: "update_title", chat_id: "owned", title: "T" })
        const [first] = yield* repo.claim([queued.id], 1)
        assert.strictEqual(first?.attempts, 1)
        yield* Effect.sleep("20 millis")
        const second = yield* repo.reclaimStalled(queued.id, LEASE_MS)
        assert.strictEqual(second?.attempts, 2)

        assert.deepStrictEqual(yield* repo.extendLease([first!], LEASE_MS), [queued.id])
        assert.deepStrictEqual(yield* repo.extendLease([second!], LEASE_MS), [])
        yield* repo.park([first!], { from: "running", status: "queued", eta: null, error: null, refundAttempt: true })
        const afterPark = yield* repo.load(queued.id)
        assert.strictEqual(afterPark?.status, "running")
        assert.strictEqual(afterPark?.attempts, 2)

        const stale = yield* repo.finish("default", {
          outcomes: [{ command: first!, status: "failed", error: { code: "x", message: "stale" } }]
        })
        assert.deepStrictEqual(stale, [])
        assert.strictEqual((yield* repo.load(queued.id))?.status, "running")
        assert.deepStrictEqual(yield* eventsOf(queued.id), ["CommandRequested"])

        const settled = yield* repo.finish("default", {
          outcomes: [{ command: second!, status: "succeeded", result: { ok: true } }]
        })
        assert.deepStrictEqual(
          settled.map(o => o.command.id),
          [queued.id]
        )
        assert.strictEqual((yield* repo.load(queued.id))?.status, "succeeded")
        assert.deepStrictEqual(yield* eventsOf(queued.id), ["CommandRequested", "CommandSucceeded"])
      })
    )

    // A wait that is not the command's fault gives its attempt back, so `attempts` repeats: A parked its coalesced call
    // after a throttle answer (attempt refunded), B claimed the same commands (the same attempt count), and A's
    // put-back or settlement matched B's running rows (a third send; a settlement over B's call).
    it.effect("an attempt's refunded claim is not mistaken for the claim taken after it", () =>
      Effect.gen(function* () {
        const repo = yield* CommandsRepo
        const queued = yield* intakeOne({ type: "mark_as_read", chat_id: "refunded", last_message_id: "m1" })
        const [a] = yield* repo.claim([queued.id], LEASE_MS)
        yield* repo.park([a!], {
          from: "running",
          status: "waiting_rate_limit",
          eta: null,
          error: null,
          refundAttempt: true
        })
        const [b] = yield* repo.claim([queued.id], LEASE_MS)
        assert.strictEqual(b?.attempts, a?.attempts)
        yield* repo.park([a!], { from: "running", status: "queued", eta: null, error: null })
        assert.deepStrictEqual(
          yield* repo.finish("default", { outcomes: [{ command: a!, status: "succeeded", result: null }] }),
          []
        )
        assert.strictEqual((yield* repo.load(queued.id))?.status, "running")
        assert.deepStrictEqual(yield* repo.extendLease([a!], LEASE_MS), [queued.id])
        assert.deepStrictEqual(yield* repo.extendLease([b!], LEASE_MS), [])
      })
    )

    it.effect("an attempt from before an operator's retry does not settle the retried command", () =>
      Effect.gen(function* () {
        const repo = yield* CommandsRepo
        const query = yield* CommandsQuery
        const queued = yield* intakeOne({ type: "update_title", chat_id: "retried", title: "T" })
        const [before] = yield* repo.claim([queued.id], LEASE_MS)
        yield* repo.finish("default", {
          outcomes: [{ command: before!, status: "failed", error: { code: "x", message: "gave up" } }]
        })
        yield* query.retry(queued.id)
        const [after] = yield* repo.claim([queued.id], LEASE_MS)
        // The same attempt count as before the retry: `claims` tells the two claims apart.
        assert.strictEqual(after?.attempts, before?.attempts)
        assert.deepStrictEqual(yield* repo.extendLease([before!], LEASE_MS), [queued.id])
        assert.deepStrictEqual(
          yield* repo.finish("default", { outcomes: [{ command: before!, status: "succeeded", result: null }] }),
          []
        )
        assert.strictEqual((yield* repo.load(queued.id))?.status, "running")
      })
    )

    it.effect("a failure decided from a read leaves a command cancelled meanwhile cancelled", () =>
      Effect.gen(function* () {
        const repo = yield* CommandsRepo
        const batches = yield* BatchesRepo
        const queued = yield* intakeOne({ type: "update_title", chat_id: "cancelled", title: "T" })
        yield* batches.cancelCommand(queued.id)
        const failed = yield* repo.finish("default", {
          outcomes: [{ command: queued, status: "failed", error: { code: "unknown_account", message: "" } }]
        })
        assert.deepStrictEqual(failed, [])
        assert.strictEqual((yield* repo.load(queued.id))?.status, "cancelled")
      })
    )
    // The relay reads the commands without a job, adds their jobs, then marks them. A command settled by another job's
    // call and retried by the operator in between needs a new job: marked from the old read, it waited for the sweeper.
    it.effect("the relay's mark leaves a command retried since it was read for the next round", () =>
      Effect.gen(function* () {
        const repo = yield* CommandsRepo
        const query = yield* CommandsQuery
        const queued = yield* intakeOne({ type: "update_title", chat_id: "relayed", title: "T" })
        const read = (yield* repo.unenqueued(100)).find(c => c.id === queued.id)!
        const [claimed] = yield* repo.claim([queued.id], LEASE_MS)
        yield* repo.finish("default", {
          outcomes: [{ command: claimed!, status: "failed", error: { code: "x", message: "gave up" } }]
        })
        yield* query.retry(queued.id)
        yield* repo.markEnqueued([read])
        assert.include(
          (yield* repo.unenqueued(100)).map(c => c.id),
          queued.id
        )
        const again = (yield* repo.unenqueued(100)).find(c => c.id === queued.id)!
        yield* repo.markEnqueued([again])
        assert.notInclude(
          (yield* repo.unenqueued(100)).map(c => c.id),
          queued.id
        )
      })
    )

    // Renewals failing for longer than a lease (a lock, a dead connection) while the attempt waits for its slot: another
    // process takes the command over. The attempt used to go on and send it a second time.
    it.effect("an attempt stops, unsent, when its renewal finds another attempt took its command over", () =>
      Effect.gen(function* () {
        const repo = yield* CommandsRepo
        const db = yield* Database
        const timing = { ...commandTiming(1), leaseMs: 150 }
        const queued = yield* intakeOne({ type: "update_title", chat_id: "taken-over", title: "T" })
        const [held] = yield* repo.claim([queued.id], timing.leaseMs)
        let sent = false
        const slowCall = Effect.sleep("5 seconds").pipe(
          Effect.andThen(() => (sent = true)),
          Effect.as("sent")
        )
        // Renewals go on while nothing takes the command: the work ends as it would.
        assert.strictEqual(
          yield* withLease([held!], timing, Effect.sleep("200 millis").pipe(Effect.as("done")), Effect.succeed("x")),
          "done"
        )
        // Nor does the attempt's own park (an attempt given back) or settlement count as a takeover, whenever a renewal
        // runs after it.
        const other = yield* intakeOne({ type: "update_title", chat_id: "own-park", title: "T" })
        const [mine] = yield* repo.claim([other.id], timing.leaseMs)
        const parksItself = repo
          .park([mine!], { from: "running", status: "queued", eta: null, error: null, refundAttempt: true })
          .pipe(Effect.zipRight(Effect.sleep("200 millis")), Effect.as("parked"))
        assert.strictEqual(yield* withLease([mine!], timing, parksItself, Effect.succeed("x")), "parked")
        const [again] = yield* repo.claim([other.id], timing.leaseMs)
        const settlesItself = repo
          .finish("default", { outcomes: [{ command: again!, status: "succeeded", result: null }] })
          .pipe(Effect.zipRight(Effect.sleep("200 millis")), Effect.as("settled"))
        assert.strictEqual(yield* withLease([again!], timing, settlesItself, Effect.succeed("x")), "settled")
        const attempt = yield* Effect.fork(withLease([held!], timing, slowCall, Effect.succeed("stopped")))
        yield* Effect.sleep("30 millis")
        // What `reclaimStalled` does once the lease has passed: another attempt counts itself in.
        yield* Effect.promise(
          () => db.sql`update commands set attempts = attempts + 1, claims = claims + 1 where id = ${queued.id}`
        )
        assert.strictEqual(yield* Fiber.join(attempt).pipe(Effect.timeout("2 seconds")), "stopped")
        assert.isFalse(sent)
      })
    )
  }
)
