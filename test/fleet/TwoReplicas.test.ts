import { BUCKETS, maxInAnyWindow } from "@cliq-mirror/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { visibleTruth } from "../sync/truth.js"
import {
  apiRequest,
  eventually,
  type FleetDatabase,
  fleetEnvironment,
  freePort,
  type ProxiedCall,
  recordingProxy,
  server,
  unmirrored
} from "./support.js"

const USERS = 4
const TIME_SCALE = 0.02
const WINDOW_MS = BUCKETS["chats.update"].windowMs * TIME_SCALE
const TITLES_PER_ACCOUNT = 45

const leaseOwners = (database: FleetDatabase) =>
  database
    .use(
      (_, sql) => sql<Array<{ owner: string; n: number }>>`
        select owner, count(*)::int as n from account_leases where expires_at > now() group by owner order by owner`
    )
    .pipe(Effect.orDie)

/** Runs of consecutive polling calls (GET) of one account made by the same process, in time order. */
const pollingRuns = (perProcess: ReadonlyArray<ReadonlyArray<ProxiedCall>>, token: string) => {
  const calls = perProcess
    .flatMap((calls, process) =>
      calls.filter(c => c.method === "GET" && c.token === token).map(c => ({ ...c, process }))
    )
    .sort((a, b) => a.at - b.at)
  return calls.filter((c, i) => i === 0 || calls[i - 1]!.process !== c.process).map(c => c.process)
}

describe("two `npm start` processes (two daemons, two APIs) on one PostgreSQL and Redis", () => {
  it.scopedLive(
    "split the accounts, send every command once, hold the client's thresholds together, and take over a dead peer",
    () =>
      Effect.gen(function* () {
        const { sim, database, env, ids } = yield* fleetEnvironment({
          users: USERS,
          chats: 900,
          seed: 41,
          timeScale: TIME_SCALE,
          clientId: "sim-client-id"
        })
        const proxies = [yield* recordingProxy(sim.url), yield* recordingProxy(sim.url)]
        const ports = [yield* freePort(), yield* freePort()]
        const processes = [0, 1].map(i => ({
          ...env,
          API_PORT: String(ports[i]),
          CLIQ_API_BASE_URL: `${proxies[i]!.url}/api/v3`,
          POLL_INTERVAL_MS: "500"
        }))
        const replicas = [yield* server(processes[0]!), yield* server(processes[1]!)]
        for (const port of ports) {
          yield* eventually(
            "/readyz 200",
            Effect.map(apiRequest(port, "/readyz"), r => (r.status === 200 ? true : undefined)),
            60_000,
            replicas
          )
        }
        // A fair share each: two accounts per process.
        yield* eventually(
          "the leases split between the two processes",
          Effect.map(leaseOwners(database), rows =>
            rows.length === 2 && rows.every(r => r.n === USERS / 2) ? true : undefined
          ),
          30_000,
          replicas
        )

        // Every account renames chats of its own: 4 × 45 calls of chats.update, a bucket counted per OAuth client.
        const renamed = ids.flatMap((accountId, i) =>
          visibleTruth(sim, i)
            .filter(t => {
              const u = t.users.find(x => x.userIndex === i)!
              return t.chatType === "group_chat" && u.member && !u.removed && !u.closed
            })
            .slice(0, TITLES_PER_ACCOUNT)
            .map((t, n) => ({
              type: "update_title",
              account_id: accountId,
              chat_id: t.chatId,
              title: `Fleet ${i}-${n}`
            }))
        )
        assert.strictEqual(renamed.length, USERS * TITLES_PER_ACCOUNT)
        const since = sim.state.requests().at(-1)?.seq ?? 0
        for (const [half, port] of ports.entries()) {
          const commands = renamed.filter((_, n) => n % 2 === half)
          const accepted = yield* apiRequest(
            port,
            "/v1/commands/batch",
            {
              method: "POST",
              body: JSON.stringify({ commands })
            },
            60_000
          )
          assert.strictEqual(accepted.status, 202, JSON.stringify(accepted.body))
        }
        const counts = yield* eventually(
          "every command finished",
          Effect.map(
            database
              .use(
                (_, sql) => sql<Array<{ status: string; n: number }>>`
                  select status, count(*)::int as n from commands group by status`
              )
              .pipe(Effect.orDie),
            rows => {
              const by = Object.fromEntries(rows.map(r => [r.status, r.n]))
              return (by.queued ?? 0) + (by.waiting_rate_limit ?? 0) + (by.running ?? 0) === 0 ? by : undefined
            }
          ),
          120_000,
          replicas,
          500
        )
        assert.deepStrictEqual(counts, { succeeded: renamed.length })
        assert.deepStrictEqual(sim.state.violations(), [])

        const updates = sim.state.requests(since).filter(r => r.operationId === "updateTitle")
        // Once per command: a chat several accounts belong to is renamed by each of them, each call its own.
        for (const c of renamed) {
          const user = ids.indexOf(c.account_id)
          const calls = updates.filter(r => r.userIndex === user && r.path.includes(`/chats/${c.chat_id}`))
          assert.strictEqual(calls.length, 1, `${c.account_id} ${c.chat_id}`)
        }
        assert.isAtMost(
          maxInAnyWindow(
            updates.map(r => r.atMs),
            WINDOW_MS
          ),
          BUCKETS["chats.update"].threshold
        )
        // Both processes sent some of them.
        for (const proxy of proxies) assert.isTrue(proxy.calls.some(c => c.method === "PUT"))

        yield* eventually(
          "every account mirrored",
          Effect.map(unmirrored(database, sim, ids), left => (left.length === 0 ? true : undefined)),
          120_000,
          replicas,
          1_000
        )

        // The first process dies without a word: the second takes its accounts over once their leases expire.
        const pid = replicas[0]!.child.pid
        const orphans = yield* database
          .use(
            (_, sql) => sql<Array<{ account_id: string }>>`
              select account_id from account_leases where owner like ${`%/${pid}/%`} order by account_id`
          )
          .pipe(Effect.orDie)
        assert.strictEqual(orphans.length, USERS / 2)
        yield* Effect.promise(() => replicas[0]!.kill9())
        const survivor = replicas[1]!
        yield* eventually(
          "the survivor holds every lease",
          Effect.map(leaseOwners(database), rows => (rows.length === 1 && rows[0]!.n === USERS ? true : undefined)),
          30_000,
          [survivor],
          500
        )
        const me = sim.state.accounts()[ids.indexOf(orphans[0]!.account_id)]!
        const other = sim.state.people().find(p => p.active && !p.guest && p.userId !== me.userId)!
        sim.state.createChat({
          chatType: "group_chat",
          participantIds: [me.userId, other.userId],
          title: "after the takeover",
          creatorId: me.userId
        })
        yield* eventually(
          "a chat created after the takeover mirrored",
          Effect.map(unmirrored(database, sim, ids), left => (left.length === 0 ? true : undefined)),
          60_000,
          [survivor],
          500
        )

        // No account was polled by both processes at once: its polling calls form at most one run per owner change
        // (a first claim, the hand-over to the fair share, the takeover).
        for (const [i, account] of sim.state.accounts().entries()) {
          const runs = pollingRuns(
            proxies.map(p => p.calls),
            account.token
          )
          assert.isAtMost(runs.length, 3, `${ids[i]}: polled in turns ${runs.join(",")}`)
        }
        assert.deepStrictEqual(sim.state.violations(), [])
      }),
    { timeout: 300_000 }
  )
})
