import { randomBytes } from "node:crypto"
import { hostname } from "node:os"
import { Database } from "@cliq-mirror/db"
import { Effect, Schema } from "effect"

export interface LeaseTiming {
  /** How long a claim or renewal holds an account without being renewed again. */
  readonly ttlMs: number
  readonly renewEveryMs: number
}

const LEASE_TTL_MS = 30_000
/** Below this a renewal stuck behind a busy pipeline or a GC pause could let a healthy owner lose its accounts. */
const MIN_TTL_MS = 10_000

export const leaseTiming = (timeScale: number): LeaseTiming => {
  const ttlMs = Math.max(MIN_TTL_MS, Math.round(LEASE_TTL_MS * timeScale))
  return { ttlMs, renewEveryMs: Math.round(ttlMs / 3) }
}

export const newOwnerId = (): string => `${hostname()}/${process.pid}/${randomBytes(4).toString("hex")}`

/** What one process may hold: an even share of the accounts among the processes renewing their presence. */
export const fairShare = (accounts: number, peers: number): number => Math.ceil(accounts / (peers + 1))

export interface TickResult {
  /** Other processes whose presence is live. */
  readonly peers: number
  /** Accounts held and renewed, and accounts newly claimed. */
  readonly renewed: ReadonlyArray<string>
  readonly claimed: ReadonlyArray<string>
}

export interface TickPlan {
  readonly start: ReadonlyArray<string>
  readonly stop: ReadonlyArray<string>
  /** Held beyond the fair share: stop their pollers, then give the leases up for another process to claim. */
  readonly handOver: ReadonlyArray<string>
}

/**
 * From what a tick answered: held accounts it did not renew are lost (another process claimed them after expiry),
 * claimed ones start, and what exceeds the fair share is handed over, the last claimed first.
 */
export const planTick = (held: ReadonlyArray<string>, configured: number, result: TickResult): TickPlan => {
  const renewed = new Set(result.renewed)
  const stop = held.filter(id => !renewed.has(id))
  const owned = [...held.filter(id => renewed.has(id)), ...result.claimed]
  const excess = Math.max(0, owned.length - fairShare(configured, result.peers))
  const handOver = excess > 0 ? owned.slice(owned.length - excess) : []
  return { start: result.claimed.filter(id => !handOver.includes(id)), stop, handOver }
}

/** A holder that could not renew must stop before its leases can expire for everybody else. */
export const mustFence = (lastRenewalSentAt: number, now: number, timing: LeaseTiming): boolean =>
  now >= lastRenewalSentAt + timing.ttlMs - timing.renewEveryMs

/**
 * How long a tick sent at `now` may take: while accounts are held, until the moment `mustFence` names (a renewal
 * stalled past it, on a lock or a dead connection, would otherwise let the leases expire while their pollers run on
 * and another process takes them over); holding none, a lease period.
 */
export const tickAllowanceMs = (lastRenewalSentAt: number, holding: boolean, now: number, timing: LeaseTiming) =>
  holding ? Math.max(0, lastRenewalSentAt + timing.ttlMs - timing.renewEveryMs - now) : timing.ttlMs

const TickRow = Schema.Struct({
  peers: Schema.Number,
  renewed: Schema.Array(Schema.String),
  claimed: Schema.Array(Schema.String)
})

/**
 * Account ownership without a connection per account: a lease row per account, claimed when free or expired and
 * renewed with the owner's presence in one statement per tick. PostgreSQL's clock decides expiry.
 */
export const makeLeases = (owner: string, timing: LeaseTiming) =>
  Effect.gen(function* () {
    const database = yield* Database
    const tick = (held: ReadonlyArray<string>, wanted: ReadonlyArray<string>, configured: number) =>
      database
        .use(
          (_, sql) => sql`
            with presence as (
              insert into lease_owners (owner, expires_at)
              values (${owner}, now() + ${timing.ttlMs} * interval '1 millisecond')
              on conflict (owner) do update set expires_at = excluded.expires_at
            ),
            forgotten as (
              delete from lease_owners where expires_at < now() - interval '1 day'
            ),
            peers as (
              select count(*)::int as n from lease_owners where owner <> ${owner} and expires_at > now()
            ),
            renewed as (
              update account_leases set expires_at = now() + ${timing.ttlMs} * interval '1 millisecond'
              where owner = ${owner} and account_id = any(${[...held]}::text[])
              returning account_id
            ),
            free as (
              select w.id from unnest(${[...wanted]}::text[]) as w(id)
              left join account_leases l on l.account_id = w.id
              where l.account_id is null or l.expires_at < now()
              order by random()
              limit greatest(0, ceil(${configured}::numeric / ((select n from peers) + 1)) - ${held.length}::int)
            ),
            claimed as (
              insert into account_leases (account_id, owner, expires_at)
              select id, ${owner}, now() + ${timing.ttlMs} * interval '1 millisecond' from free
              on conflict (account_id) do update set owner = excluded.owner, expires_at = excluded.expires_at
              where account_leases.expires_at < now()
              returning account_id
            )
            select (select n from peers) as peers,
              array(select account_id from renewed) as renewed,
              array(select account_id from claimed) as claimed`
        )
        .pipe(
          Effect.flatMap(([row]) => Schema.decodeUnknown(TickRow)(row)),
          Effect.withSpan("AccountLease.tick")
        )
    const release = (ids: ReadonlyArray<string>) =>
      database
        .use(
          (_, sql) => sql`delete from account_leases where owner = ${owner} and account_id = any(${[...ids]}::text[])`
        )
        .pipe(Effect.asVoid)
    const leave = database
      .use(
        (_, sql) => sql`
          with gone as (delete from account_leases where owner = ${owner})
          delete from lease_owners where owner = ${owner}`
      )
      .pipe(Effect.asVoid)
    return { owner, timing, tick, release, leave } as const
  })
