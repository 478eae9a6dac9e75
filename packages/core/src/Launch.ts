import { Cause, ConfigError, Console, Effect, Layer } from "effect"

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

/** One line naming each bad variable and its rule. */
export const formatConfigError = (error: ConfigError.ConfigError): string =>
  `invalid configuration: ${[...new Set(leaves(error))].join("; ")}`

const isSettingError = (
  u: unknown
): u is ConfigError.ConfigError | { readonly _tag: "RateLimitsFileError"; readonly message: string } =>
  ConfigError.isConfigError(u) ||
  (typeof u === "object" &&
    u !== null &&
    "_tag" in u &&
    (u._tag === "RateLimitsFileError" || u._tag === "AccountsConfigError"))

/**
 * A missing or malformed setting ends the process with exit code 1 and one line on stderr naming the variable and
 * the rule, instead of a multi-line fiber failure report.
 */
export const reportSettingErrors = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A | undefined, E, R> =>
  effect.pipe(
    Effect.catchAllCause(cause => {
      const failure = Cause.failureOption(cause)
      if (failure._tag === "Some" && isSettingError(failure.value)) {
        const line = ConfigError.isConfigError(failure.value) ? formatConfigError(failure.value) : failure.value.message
        return Console.error(line).pipe(
          Effect.zipRight(
            Effect.sync(() => {
              process.exitCode = 1
              return undefined
            })
          )
        )
      }
      return Effect.failCause(cause)
    })
  )

/** Launches a layer until interrupted (SIGINT/SIGTERM through NodeRuntime.runMain), reporting bad settings. */
export const launch = <E, R>(layer: Layer.Layer<never, E, R>): Effect.Effect<void, E, R> =>
  reportSettingErrors(Layer.launch(layer))
