import { existsSync } from "node:fs"
import { it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import postgres from "postgres"
import { expect } from "vitest"
import { makeOwnPostgres } from "../support/OwnPostgres.js"

const query = (url: string) =>
  Effect.promise(async () => {
    const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 })
    try {
      return await sql<Array<{ n: number }>>`select count(*)::int as n from sync_state`
    } finally {
      await sql.end({ timeout: 1 })
    }
  })

it.scoped(
  "a private cluster is migrated, survives a restart and leaves nothing behind",
  () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      yield* Effect.addFinalizer(exit => Scope.close(scope, exit))
      const pg = yield* makeOwnPostgres().pipe(Scope.extend(scope))
      expect((yield* query(pg.url))[0]!.n).toBe(0)
      yield* pg.restart("immediate")
      expect(pg.isRunning()).toBe(true)
      expect((yield* query(pg.url))[0]!.n).toBe(0)
      yield* pg.stop()
      const refused = yield* query(pg.url).pipe(Effect.sandbox, Effect.flip)
      expect(refused).toBeDefined()
      yield* pg.start()
      expect((yield* query(pg.url))[0]!.n).toBe(0)
      yield* Scope.close(scope, Exit.void)
      expect(existsSync(pg.dataDir)).toBe(false)
    }),
  60_000
)
