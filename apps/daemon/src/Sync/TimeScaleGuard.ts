import { loadAccounts, TimeScale } from "@cliq-mirror/core"
import { ConfigError, Effect } from "effect"

const LOOPBACK_V4 = /^127(?:\.\d{1,3}){3}$/

/** localhost, 127.0.0.0/8 or ::1. */
export const isLoopbackUrl = (url: string): boolean => {
  try {
    const host = new URL(url).hostname.toLowerCase()
    return host === "localhost" || host.endsWith(".localhost") || LOOPBACK_V4.test(host) || host === "[::1]"
  } catch {
    return false
  }
}

/**
 * `CLIQ_TIME_SCALE` below 1 shrinks every window and lock of the budget: against Cliq it would multiply the calls
 * made. It is accepted only when every account's upstream is on a loopback address (a simulator).
 */
export const timeScaleGuard = Effect.gen(function* () {
  const scale = yield* TimeScale
  if (scale >= 1) return
  const remote = (yield* loadAccounts).filter(a => !isLoopbackUrl(a.baseUrl))
  if (remote.length === 0) return
  return yield* Effect.fail(
    ConfigError.InvalidData(
      ["CLIQ_TIME_SCALE"],
      `must be 1 unless the upstream is on a loopback address (${remote[0]!.baseUrl} is not)`
    )
  )
})
