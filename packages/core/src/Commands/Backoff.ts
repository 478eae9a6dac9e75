import { Chunk, Duration, Effect, Option, Schedule } from "effect"

export const BACKOFF_BASE_MS = 2_000
export const BACKOFF_CAP_MS = 300_000

/** Retries of a command: exponential from 2 s, doubled each attempt, jittered (×0.8–1.2), capped at 5 minutes. */
export const commandBackoff = (timeScale: number) => {
  const cap = Duration.millis(Math.max(1, BACKOFF_CAP_MS * timeScale))
  return Schedule.exponential(Duration.millis(Math.max(1, BACKOFF_BASE_MS * timeScale))).pipe(
    Schedule.jittered,
    Schedule.modifyDelay(delay => Duration.min(delay, cap))
  )
}

/**
 * The wait before attempt `attempts + 1`, as the schedule gives it after `attempts` failures (randomness from the
 * `Random` service, no sleeping): a command's backoff outlives the job that computed it, so it is stored as an eta.
 */
export const backoffAfter = (attempts: number, timeScale: number): Effect.Effect<Duration.Duration> =>
  Effect.gen(function* () {
    const now = yield* Effect.clockWith(clock => clock.currentTimeMillis)
    const delays = yield* Schedule.run(
      Schedule.delays(commandBackoff(timeScale)),
      now,
      Array.from({ length: Math.max(1, attempts) }, () => undefined)
    )
    return Option.getOrElse(Chunk.last(delays), () => Duration.zero)
  })
