import { randomBytes } from "node:crypto"
import type * as HttpClient from "@effect/platform/HttpClient"
import { Clock, Deferred, Duration, Effect, FiberId, Option, Redacted, type Scope } from "effect"
import { type Account, credentialsFingerprint, type RefreshAuth } from "../../Accounts/Account.js"
import { type CliqAuthError, CliqNeedsReauth, CliqTokenUnavailable } from "../Errors.js"
import { mintAccessToken } from "./TokenEndpoint.js"
import { ZOHO_TOKEN_LIMITS } from "./TokenLimits.js"
import type { CachedToken, TokenStoreError, TokenStoreShape } from "./TokenStore.js"

export interface TokenProvider {
  /** A token with enough life left; mints one (once, whoever asks) when the shared cache has none. */
  readonly current: Effect.Effect<Redacted.Redacted<string>, CliqAuthError>
  /** After a 401 with `rejected`: a different token, or None when there is nothing to renew (a static token). */
  readonly renew: (
    rejected: Redacted.Redacted<string>
  ) => Effect.Effect<Option.Option<Redacted.Redacted<string>>, CliqAuthError>
  /** Some while the account waits for new credentials. */
  readonly needsReauth: Effect.Effect<Option.Option<{ readonly reason: string; readonly since: number }>, CliqAuthError>
}

export interface TokenPolicy {
  /** Refresh ahead when less than this remains (Zoho advice: 5 minutes). */
  readonly refreshMarginMs: number
  /** Zoho mints at most `mintMax` tokens per refresh token per `mintWindowMs` (10 per 10 minutes). */
  readonly mintWindowMs: number
  readonly mintMax: number
  /** At most one refresh per refresh token per this interval, except after a 401 (1 minute). */
  readonly minIntervalMs: number
  /** How long a process may hold the cross-process refresh lock; also how long the others wait for it. */
  readonly lockTtlMs: number
  readonly requestTimeout: Duration.DurationInput
}

export const tokenPolicy = (timeScale: number, requestTimeout: Duration.DurationInput): TokenPolicy => ({
  refreshMarginMs: 5 * 60_000 * timeScale,
  mintWindowMs: ZOHO_TOKEN_LIMITS.mintWindowMs * timeScale,
  mintMax: ZOHO_TOKEN_LIMITS.mintsPerWindow,
  minIntervalMs: 60_000 * timeScale,
  lockTtlMs: Duration.toMillis(requestTimeout) + 5_000,
  requestTimeout
})

export const staticTokenProvider = (token: Redacted.Redacted<string>): TokenProvider => ({
  current: Effect.succeed(token),
  renew: () => Effect.succeedNone,
  needsReauth: Effect.succeedNone
})

interface Need {
  /** Set after a 401: any live token but this one will do. */
  readonly rejected?: string
}

export const refreshTokenProvider = (options: {
  readonly account: Account
  readonly auth: RefreshAuth
  readonly http: HttpClient.HttpClient
  readonly store: TokenStoreShape
  readonly policy: TokenPolicy
  readonly scope: Scope.Scope
}): TokenProvider => {
  const { account, auth, http, store, policy, scope } = options
  const accountId = account.id
  const fingerprint = credentialsFingerprint(auth)
  let local: CachedToken | undefined
  let inflight: Deferred.Deferred<CachedToken, CliqAuthError> | undefined

  const unavailable = (reason: CliqTokenUnavailable["reason"], message: string, retryAt?: number) =>
    new CliqTokenUnavailable({
      accountId,
      reason,
      ...(retryAt === undefined ? {} : { retryAt }),
      message: `${accountId}: ${message}`
    })
  const storeFailed = (_: TokenStoreError) => unavailable("store", "token store (Redis) unavailable")
  const needsReauth = (reason: string) =>
    new CliqNeedsReauth({
      accountId,
      reason,
      message: `${accountId}: the refresh token was refused (${reason}); configure new credentials`
    })

  const fresh = (t: CachedToken, now: number) => t.expiresAt - now > policy.refreshMarginMs
  const alive = (t: CachedToken, now: number) => t.expiresAt > now
  const acceptable = (t: CachedToken, need: Need, now: number) =>
    need.rejected === undefined ? fresh(t, now) : t.token !== need.rejected && alive(t, now)

  const readToken = store.readToken(accountId).pipe(Effect.mapError(storeFailed))

  const checkReauth = Effect.gen(function* () {
    const mark = yield* store.readReauth(accountId).pipe(Effect.mapError(storeFailed))
    if (Option.isNone(mark)) return
    if (mark.value.fingerprint === fingerprint) return yield* needsReauth(mark.value.reason)
    yield* store.clearReauth(accountId).pipe(Effect.mapError(storeFailed))
    yield* Effect.logInfo("credentials changed: needs-reauthorisation mark cleared")
  })

  const mintLocked = (need: Need) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const cached = yield* readToken
      if (Option.isSome(cached) && acceptable(cached.value, need, now)) return cached.value
      const usable = Option.filter(cached, t => t.token !== need.rejected && alive(t, now))
      const admission = yield* store
        .admitMint(fingerprint, {
          windowMs: policy.mintWindowMs,
          max: policy.mintMax,
          minIntervalMs: policy.minIntervalMs,
          force: need.rejected !== undefined || Option.isNone(usable)
        })
        .pipe(Effect.mapError(storeFailed))
      if (!admission.ok) {
        if (Option.isSome(usable)) return usable.value
        return yield* unavailable("quota", "token mint quota of the refresh token used up", admission.retryAt)
      }
      const outcome = yield* mintAccessToken(http, account.accountsUrl, auth, policy.requestTimeout)
      const after = yield* Clock.currentTimeMillis
      switch (outcome._tag) {
        case "Minted": {
          const token: CachedToken = {
            token: Redacted.value(outcome.token),
            expiresAt: after + outcome.expiresInMs,
            fingerprint
          }
          yield* store.writeToken(accountId, token, outcome.expiresInMs).pipe(Effect.mapError(storeFailed))
          yield* Effect.logInfo("access token minted").pipe(
            Effect.annotateLogs({ expiresInSeconds: Math.round(outcome.expiresInMs / 1000) })
          )
          return token
        }
        case "Rejected": {
          yield* store
            .markReauth(accountId, { reason: outcome.error, fingerprint, since: after })
            .pipe(Effect.zipRight(store.deleteToken(accountId)), Effect.mapError(storeFailed))
          yield* Effect.logWarning("refresh token refused: account needs reauthorisation").pipe(
            Effect.annotateLogs({ reason: outcome.error })
          )
          return yield* needsReauth(outcome.error)
        }
        case "Quota": {
          yield* store.blockMints(fingerprint, policy.mintWindowMs).pipe(Effect.mapError(storeFailed))
          yield* Effect.logWarning("token endpoint refused: mint quota").pipe(
            Effect.annotateLogs({ error: outcome.error })
          )
          if (Option.isSome(usable)) return usable.value
          return yield* unavailable("quota", "token endpoint refused: mint quota", after + policy.mintWindowMs)
        }
        case "Unavailable": {
          if (Option.isSome(usable)) return usable.value
          return yield* unavailable(outcome.reason, outcome.detail)
        }
      }
    })

  // Another process holds the lock: re-read the shared cache with a short, bounded backoff until its token lands.
  const awaitWinner = (need: Need) =>
    Effect.gen(function* () {
      const deadline = (yield* Clock.currentTimeMillis) + policy.lockTtlMs
      for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
        yield* Effect.sleep(Duration.millis(delay))
        const now = yield* Clock.currentTimeMillis
        const cached = yield* readToken
        if (Option.isSome(cached) && acceptable(cached.value, need, now)) return cached
        const locked = yield* store.isLocked(accountId).pipe(Effect.mapError(storeFailed))
        if (!locked || now >= deadline) return Option.none<CachedToken>()
      }
    })

  const refresh = (need: Need) =>
    Effect.gen(function* () {
      for (let round = 0; round < 3; round++) {
        const now = yield* Clock.currentTimeMillis
        const cached = yield* readToken
        if (Option.isSome(cached) && acceptable(cached.value, need, now)) return cached.value
        yield* checkReauth
        const owner = randomBytes(8).toString("hex")
        const locked = yield* store.tryLock(accountId, owner, policy.lockTtlMs).pipe(Effect.mapError(storeFailed))
        if (locked) return yield* mintLocked(need).pipe(Effect.ensuring(Effect.ignore(store.unlock(accountId, owner))))
        const won = yield* awaitWinner(need)
        if (Option.isSome(won)) return won.value
      }
      return yield* unavailable("lock_timeout", "gave up waiting for another process to refresh the token")
    })

  // One refresh at a time per account in this process; every caller awaits the same outcome. The work runs in the
  // client's scope so that a caller giving up does not abort a refresh the others wait for.
  const flight = (need: Need): Effect.Effect<CachedToken, CliqAuthError> =>
    Effect.suspend(() => {
      if (inflight !== undefined) return Deferred.await(inflight)
      const done = Deferred.unsafeMake<CachedToken, CliqAuthError>(FiberId.none)
      inflight = done
      return refresh(need).pipe(
        Effect.tap(token => {
          local = token
        }),
        Effect.onExit(exit =>
          Effect.zipRight(
            Deferred.done(done, exit),
            Effect.sync(() => {
              inflight = undefined
            })
          )
        ),
        Effect.annotateLogs({ account: accountId }),
        Effect.forkIn(scope),
        Effect.zipRight(Deferred.await(done))
      )
    })

  const current = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    if (local !== undefined && fresh(local, now)) return Redacted.make(local.token)
    const cached = yield* readToken
    if (Option.isSome(cached) && fresh(cached.value, now)) {
      local = cached.value
      return Redacted.make(cached.value.token)
    }
    return Redacted.make((yield* flight({})).token)
  })

  const renew = (rejected: Redacted.Redacted<string>) =>
    Effect.gen(function* () {
      const need: Need = { rejected: Redacted.value(rejected) }
      if (local?.token === need.rejected) local = undefined
      let token = yield* flight(need)
      // A refresh already in flight for another reason may have settled on the rejected token: ask once more.
      if (token.token === need.rejected) token = yield* flight(need)
      return Option.some(Redacted.make(token.token))
    })

  const reauthStatus = store
    .readReauth(accountId)
    .pipe(
      Effect.mapError(storeFailed),
      Effect.map(Option.filter(mark => mark.fingerprint === fingerprint)),
      Effect.map(Option.map(mark => ({ reason: mark.reason, since: mark.since })))
    )

  return { current, renew, needsReauth: reauthStatus }
}
