import {
  type Account,
  type AccountClient,
  type BudgetRequest,
  budgetKey,
  CliqClient,
  type CliqError,
  CliqNeedsReauth,
  credentialsFingerprint,
  type Granted,
  OPERATION_BY_ID,
  type OperationId,
  RateBudget,
  type RateBudgetError
} from "@cliq-mirror/core"
import { Cause, Clock, Duration, Effect, Exit, FiberRef, Option, Schedule } from "effect"
import { DaemonConfig } from "./Config.js"
import { countUpstreamCall } from "./Metrics.js"
import { currentPass } from "./Sync/PassGate.js"

/**
 * A read failure worth another attempt at once: 5xx, `*_failed`, timeouts, resets, and bodies that are not JSON or
 * not the expected envelope. A chat object that does not decode (`data…`) is the chat's, not the exchange's: the
 * callers record it.
 */
export const isTransient = (e: CliqError | RateBudgetError): boolean =>
  e._tag === "CliqRetryable" || (e._tag === "CliqDecodeError" && !/^data\b/.test(e.path))

/** Retries of one read call: short, jittered, a few; each attempt takes its own budget slot. */
export const readRetryPolicy = (timeScale: number) =>
  Schedule.exponential(Duration.millis(Math.max(1, Math.round(250 * timeScale))), 2).pipe(
    Schedule.jittered,
    Schedule.intersect(Schedule.recurs(5))
  )

/** Consecutive 401s (after the client's own renewal) that mean the credentials no longer work. */
export const UNAUTHORIZED_LIMIT = 2

export interface CredentialsProblem {
  readonly reason: string
  readonly since: number
}

interface Health {
  unauthorized: number
  problem: CredentialsProblem | undefined
}

/**
 * Every upstream call of the daemon goes through here: a slot of the operation's bucket first (waiting, never
 * spinning), then the call; a throttle answer locks the bucket for every process sharing the Redis. Read calls that
 * fail transiently are retried at once, slot by slot. Refused credentials (`invalid_grant`, or 401 after 401) mark the
 * account: its reads fail fast without a call until new credentials are in place (see Sync/Credentials.ts).
 */
export class Upstream extends Effect.Service<Upstream>()("@cliq-mirror/daemon/Upstream", {
  effect: Effect.gen(function* () {
    const budget = yield* RateBudget
    const cliq = yield* CliqClient
    const { timeScale } = yield* DaemonConfig
    const replaced = new Map<string, Account>()
    const health = new Map<string, Health>()
    const gates = new Map<string, Effect.Semaphore>()

    const resolve = (account: Account): Account => replaced.get(account.id) ?? account
    const healthOf = (accountId: string): Health => {
      const known = health.get(accountId)
      if (known !== undefined) return known
      const fresh: Health = { unauthorized: 0, problem: undefined }
      health.set(accountId, fresh)
      return fresh
    }

    const note = (account: Account, exit: Exit.Exit<unknown, CliqError | RateBudgetError>) =>
      Effect.flatMap(Clock.currentTimeMillis, now =>
        Effect.sync(() => {
          const h = healthOf(account.id)
          if (Exit.isSuccess(exit)) {
            h.unauthorized = 0
            h.problem = undefined
            return
          }
          const failure = Option.getOrUndefined(Exit.causeOption(exit).pipe(Option.flatMap(Cause.failureOption)))
          if (failure === undefined) return
          if (failure._tag === "CliqNeedsReauth") h.problem ??= { reason: failure.reason, since: now }
          else if (failure._tag === "CliqUnauthorized") {
            h.unauthorized++
            if (h.unauthorized >= UNAUTHORIZED_LIMIT) h.problem ??= { reason: "unauthorized", since: now }
          } else if (failure._tag !== "CliqTokenUnavailable") h.unauthorized = 0
        })
      )

    const target = (account: Account, operation: OperationId) => {
      const bucket = OPERATION_BY_ID[operation].bucket
      return { key: budgetKey(account, bucket, budget.buckets), bucket }
    }

    /**
     * A slot of the budget. A sync pass holds its turn at the pass gate (taken back here if it gave it up) and gives
     * it up while the budget makes it wait.
     */
    const acquire = (request: BudgetRequest) =>
      Effect.flatMap(FiberRef.get(currentPass), ticket =>
        ticket === undefined
          ? budget.acquire(request)
          : Effect.zipRight(ticket.enter, budget.acquire(request, { pause: ticket.away }))
      )

    /**
     * The call itself, for a caller that already holds the slot (`grant`, taken for this operation's bucket; a slot of
     * another bucket is given back and one of the right bucket taken). A retry the client makes on its own (one, after
     * a 401 and a token renewal) takes its own slot first: the upstream counts every request that arrives. Every slot
     * used is settled when the call ends, so it counts from the answer rather than the grant.
     */
    const send = <A>(
      given: Account,
      operation: OperationId,
      grant: Granted,
      run: (client: AccountClient) => Effect.Effect<A, CliqError>
    ): Effect.Effect<A, CliqError> =>
      Effect.suspend(() => {
        const account = resolve(given)
        const held: Array<Granted> = []
        const own = target(account, operation)
        const first =
          grant.bucket === own.bucket && grant.key === own.key
            ? Effect.succeed(grant)
            : budget.refund(grant).pipe(Effect.zipRight(acquire(own)))
        const client = cliq.forAccount(account, {
          beforeSend: op =>
            (held.length === 0 ? first : acquire(target(account, op.id))).pipe(
              Effect.map(slot => held.push(slot)),
              Effect.asVoid,
              Effect.orDie
            )
        })
        return run(client).pipe(
          Effect.tapError(e =>
            e._tag === "CliqThrottled"
              ? budget
                  .lock({
                    ...target(account, e.operation),
                    ...(e.retryAfterMs === undefined ? {} : { retryAfterMs: e.retryAfterMs })
                  })
                  .pipe(
                    Effect.tap(lock =>
                      Effect.logWarning("upstream throttled; bucket locked", {
                        bucket: lock.bucket,
                        until: lock.lockedUntil
                      })
                    ),
                    Effect.ignore
                  )
              : Effect.void
          ),
          Effect.onExit(exit => note(account, exit)),
          Effect.onExit(exit => Effect.sync(() => countUpstreamCall(operation, exit))),
          Effect.ensuring(
            Effect.suspend(() => Effect.forEach(held, slot => Effect.ignore(budget.settle(slot)), { discard: true }))
          ),
          Effect.withSpan("Upstream.send", { attributes: { operation, account: account.id } })
        )
      })

    const once = <A>(
      account: Account,
      operation: OperationId,
      share: string | undefined,
      run: (client: AccountClient) => Effect.Effect<A, CliqError>
    ): Effect.Effect<A, CliqError | RateBudgetError> =>
      acquire({ ...target(resolve(account), operation), ...(share ? { share } : {}) }).pipe(
        Effect.flatMap(grant => send(account, operation, grant, run))
      )

    const refused = (account: Account) =>
      Effect.suspend(() => {
        const problem = health.get(account.id)?.problem
        return problem === undefined
          ? Effect.void
          : Effect.fail(
              new CliqNeedsReauth({
                accountId: account.id,
                reason: problem.reason,
                message: `${account.id}: credentials refused (${problem.reason}); configure new credentials`
              })
            )
      })

    /** A read: fails fast while the account's credentials are refused; transient failures retried, each retry a slot. */
    const call = <A>(
      account: Account,
      operation: OperationId,
      share: string | undefined,
      run: (client: AccountClient) => Effect.Effect<A, CliqError>
    ): Effect.Effect<A, CliqError | RateBudgetError> =>
      Effect.zipRight(
        refused(account),
        once(account, operation, share, run).pipe(
          Effect.tapError(e =>
            isTransient(e)
              ? Effect.logDebug("upstream read failed; retrying", { operation, error: e._tag })
              : Effect.void
          ),
          Effect.retry({ schedule: readRetryPolicy(timeScale), while: isTransient })
        )
      )

    /** One cheap read that bypasses the refusal: does the account work again? */
    const probe = (account: Account) =>
      once(account, "listChats", undefined, client => client.listChats({ limit: 1 })).pipe(Effect.asVoid)

    const credentials = {
      problem: (accountId: string): CredentialsProblem | undefined => health.get(accountId)?.problem,
      current: resolve,
      /** New credentials for the account (e.g. the accounts file changed): the refusal is forgotten. */
      replace: (account: Account) =>
        Effect.sync(() => {
          const before = resolve(account)
          replaced.set(account.id, account)
          if (credentialsFingerprint(before.auth) !== credentialsFingerprint(account.auth)) health.delete(account.id)
        }),
      clear: (accountId: string) => Effect.sync(() => health.delete(accountId)),
      /** One re-check at a time per account, whatever number of streams wait for it. */
      gate: (accountId: string): Effect.Semaphore => {
        const known = gates.get(accountId)
        if (known !== undefined) return known
        const made = Effect.unsafeMakeSemaphore(1)
        gates.set(accountId, made)
        return made
      }
    }

    return { call, send, target, budget, probe, credentials } as const
  })
}) {}
