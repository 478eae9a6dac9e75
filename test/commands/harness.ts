import { type CommandInput, parseCommand } from "@cliq-mirror/core"
import { type CommandRecord, CommandsRepo, Database } from "@cliq-mirror/db"
import { Duration, Effect, Either, Layer } from "effect"
import { CommandWorkerLive } from "../../apps/daemon/src/Commands/CommandWorker.js"
import { OutboxRelayLive } from "../../apps/daemon/src/Commands/OutboxRelay.js"

export const WorkerLive = Layer.mergeAll(CommandWorkerLive, OutboxRelayLive)

export const command = (body: Record<string, unknown>): CommandInput => {
  const parsed = parseCommand(body)
  if (Either.isLeft(parsed)) throw new Error(`${parsed.left.field}: ${parsed.left.message}`)
  return parsed.right
}

export const submit = (...bodies: ReadonlyArray<Record<string, unknown>>) =>
  Effect.flatMap(CommandsRepo, repo => repo.intake(bodies.map(command), "default")).pipe(
    Effect.map(accepted => accepted.map(a => a.command))
  )

/** Waits (polling Postgres with one query per round) until every command is finished, or fails after `timeout`. */
export const settled = (commands: ReadonlyArray<CommandRecord>, timeout: Duration.DurationInput = "60 seconds") =>
  Effect.gen(function* () {
    const repo = yield* CommandsRepo
    const { sql } = yield* Database
    const ids = commands.map(c => c.id)
    const deadline = Date.now() + Duration.toMillis(timeout)
    while (true) {
      const [open] = yield* Effect.promise(
        () => sql<Array<{ n: number }>>`select count(*)::int as n from commands
          where id = any(${ids}::uuid[]) and status not in ('succeeded', 'failed')`
      )
      if (open!.n === 0 || Date.now() > deadline) {
        const now = yield* Effect.forEach(commands, c => repo.get(c.id))
        const done = now.flatMap(c => (c && (c.status === "succeeded" || c.status === "failed") ? [c] : []))
        if (done.length === commands.length) return done
        return yield* Effect.die(
          new Error(`not settled: ${JSON.stringify(now.map(c => [c?.type, c?.status, c?.lastError]))}`)
        )
      }
      yield* Effect.sleep("50 millis")
    }
  })
