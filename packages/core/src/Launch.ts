import { Cause, ConfigError, Console, Data, Effect, Layer, Predicate } from "effect"

const leaves = (error: ConfigError.ConfigError): Array<string> => {
  switch (error._op) {
    case "And":
    case "Or":
      return [...leaves(error.left), ...leaves(error.right)]
    case "MissingData":
      return [`${error.path.join(".")} is required`]
    default:
      return [`${error.path.join(".")}: ${error.message}`]
  }
}

const REPORT = "invalid configuration: "

/** One line naming each bad variable and its rule. */
export const formatConfigError = (error: ConfigError.ConfigError): string =>
  `${REPORT}${[...new Set(leaves(error))].join("; ")}`

/** Every problem found in a process's settings, each as `VARIABLE: rule` (or `VARIABLE is required`). */
export class SettingsInvalid extends Data.TaggedError("SettingsInvalid")<{ readonly problems: ReadonlyArray<string> }> {
  override get message() {
    return `${REPORT}${this.problems.join("; ")}`
  }
}

const problemsOf = (error: unknown): ReadonlyArray<string> | undefined => {
  if (ConfigError.isConfigError(error)) return leaves(error)
  if (error instanceof SettingsInvalid) return error.problems
  if (Predicate.isTagged(error, "RateLimitsFileError") || Predicate.isTagged(error, "AccountsConfigError")) {
    return Predicate.hasProperty(error, "message") && typeof error.message === "string" ? [error.message] : undefined
  }
  return undefined
}

/**
 * Runs every check of a process's settings (Configs, the accounts, the rate-limit file) and fails with all their
 * problems at once, before anything is created or connected. A check failing for another reason fails as it is.
 */
export const validateSettings = <R>(
  checks: ReadonlyArray<Effect.Effect<unknown, unknown, R>>
): Effect.Effect<void, SettingsInvalid, R> =>
  Effect.gen(function* () {
    const problems: Array<string> = []
    for (const check of checks) {
      const outcome = yield* Effect.either(check)
      if (outcome._tag === "Right") continue
      const found = problemsOf(outcome.left)
      if (found === undefined) return yield* Effect.die(outcome.left)
      problems.push(...found)
    }
    if (problems.length > 0) return yield* new SettingsInvalid({ problems: [...new Set(problems)] })
  })

/**
 * A missing or malformed setting ends the process with exit code 1 and one line on stderr naming each variable and
 * its rule, instead of a multi-line fiber failure report.
 */
export const reportSettingErrors = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A | undefined, E, R> =>
  effect.pipe(
    Effect.catchAllCause(cause => {
      const failure = Cause.failureOption(cause)
      const problems = failure._tag === "Some" ? problemsOf(failure.value) : undefined
      if (problems === undefined) return Effect.failCause(cause)
      return Console.error(`${REPORT}${[...new Set(problems)].join("; ")}`).pipe(
        Effect.zipRight(
          Effect.sync(() => {
            process.exitCode = 1
            return undefined
          })
        )
      )
    })
  )

/**
 * Validates the process's settings as a whole, then launches its layer until interrupted (SIGINT/SIGTERM through
 * NodeRuntime.runMain); a bad setting is reported before any database, connection or server exists.
 */
export const launch =
  <const S extends ReadonlyArray<Effect.All.EffectAny>>(settings: S) =>
  <E, R>(
    layer: Layer.Layer<never, E, R>
  ): Effect.Effect<void, E | SettingsInvalid, R | Effect.Effect.Context<S[number]>> =>
    reportSettingErrors(Effect.zipRight(validateSettings(settings), Layer.launch(layer)))
