import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { apiRequest, eventually, fleetEnvironment, freePort, server, unmirrored } from "./support.js"

const USERS = 16
const TIME_SCALE = 0.02

describe("npm start with 16 accounts in CLIQ_ACCOUNTS_FILE", () => {
  it.scopedLive(
    "is ready at once, mirrors every account, and one process holds every lease",
    () =>
      Effect.gen(function* () {
        const { sim, database, env, ids } = yield* fleetEnvironment({
          users: USERS,
          chats: 400,
          seed: 16,
          timeScale: TIME_SCALE
        })
        const port = yield* freePort()
        const p = yield* server({ ...env, API_PORT: String(port), POLL_INTERVAL_MS: "500" })
        yield* eventually(
          "/readyz 200",
          Effect.map(apiRequest(port, "/readyz"), r => (r.status === 200 ? true : undefined)),
          30_000,
          [p],
          100
        )

        // The API answers while all 16 accounts backfill.
        const listed = yield* apiRequest(port, "/v1/chats?limit=5")
        assert.strictEqual(listed.status, 200, JSON.stringify(listed.body))

        yield* eventually(
          "every account mirrored",
          Effect.map(unmirrored(database, sim, ids), left => (left.length === 0 ? true : undefined)),
          150_000,
          [p],
          1_000
        )
        const owners = yield* database
          .use(
            (_, sql) => sql<Array<{ owners: number; leases: number; live: number }>>`
              select count(distinct owner)::int as owners, count(*)::int as leases,
                     count(*) filter (where expires_at > now())::int as live
              from account_leases`
          )
          .pipe(Effect.orDie)
        assert.deepStrictEqual(owners[0], { owners: 1, leases: USERS, live: USERS })
        const status = yield* apiRequest(port, "/v1/sync/status")
        assert.strictEqual(status.status, 200)
        assert.deepStrictEqual(sim.state.violations(), [])
      }),
    { timeout: 240_000 }
  )
})
