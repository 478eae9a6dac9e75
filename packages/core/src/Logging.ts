import { Effect, HashMap, Layer, Logger, LogLevel, Predicate } from "effect"
import { type LogFormat, LogSettings } from "./Settings.js"

const CREDENTIALS_IN_URL = /([a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]*:)[^@/\s]+@/gi
const BEARER = /(bearer\s+)[^\s"',;]+/gi

/** Passwords inside URLs and bearer tokens, wherever a message or field happens to carry one. */
export const scrubSecrets = (text: string): string =>
  text.replace(CREDENTIALS_IN_URL, "$1***@").replace(BEARER, "$1***")

// Keys every line has already: a field by one of these names would make a second `message=` (or `level=`).
const RESERVED = new Set(["message", "level", "timestamp", "fiber", "cause"])

const scrub = (value: unknown): unknown => (typeof value === "string" ? scrubSecrets(value) : value)

/**
 * One message per line: `Effect.log("text", { field: 1 }, "detail")` writes `message=text field=1 detail=detail`
 * instead of one `message=` key per argument.
 */
export const structuredLogger = <A>(logger: Logger.Logger<unknown, A>) =>
  Logger.mapInputOptions(logger, (options): Logger.Logger.Options<unknown> => {
    const [head, ...rest] = Array.isArray(options.message) ? options.message : [options.message]
    let annotations = HashMap.map(options.annotations, scrub)
    const details: Array<string> = []
    for (const part of rest) {
      if (Predicate.isRecord(part)) {
        for (const [key, value] of Object.entries(part)) {
          if (RESERVED.has(key)) details.push(scrubSecrets(String(value)))
          else annotations = HashMap.set(annotations, key, scrub(value))
        }
      } else {
        details.push(scrubSecrets(String(part)))
      }
    }
    if (details.length > 0) annotations = HashMap.set(annotations, "detail", details.join("; "))
    return { ...options, message: scrub(head), annotations }
  })

const loggerFor = (format: LogFormat): Logger.Logger<unknown, unknown> => {
  switch (format) {
    case "json":
      return Logger.withConsoleLog(structuredLogger(Logger.jsonLogger))
    case "pretty":
      return structuredLogger(Logger.prettyLogger())
    case "logfmt":
      return Logger.withConsoleLog(structuredLogger(Logger.logfmtLogger))
  }
}

export const loggerLayer = (settings: { readonly level: LogLevel.LogLevel; readonly format: LogFormat }) =>
  Layer.mergeAll(
    Logger.replace(Logger.defaultLogger, loggerFor(settings.format)),
    Logger.minimumLogLevel(settings.level)
  )

/**
 * Every entry point's logger: LOG_FORMAT (logfmt, json or pretty) at LOG_LEVEL. Processes tag their lines with
 * `account`, `stream` and `command` fields; secrets travel as Redacted values and are scrubbed from text as well.
 */
export const LoggingLive = Layer.unwrapEffect(
  Effect.map(LogSettings, loggerLayer).pipe(
    // A bad LOG_* value is reported with every other bad setting by `launch`; until then lines go out as logfmt.
    Effect.orElseSucceed(() => loggerLayer({ level: LogLevel.Info, format: "logfmt" }))
  )
)
