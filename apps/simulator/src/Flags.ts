import { CliConfig, HelpDoc, Options, ValidationError } from "@effect/cli"
import type { FileSystem, Path, Terminal } from "@effect/platform"
import { Data, Effect, Option } from "effect"
import type { SimulatorOptions } from "./Options.js"

export class FlagError extends Data.TaggedError("FlagError")<{ readonly message: string }> {}

export type Flags = SimulatorOptions & { readonly port: number; readonly host: string; readonly help: boolean }

export const USAGE = `Usage: npm run simulator -- [flags]

  --port N                 port to listen on (default 4010; 0 = any free port)
  --host H                 address to bind (default 127.0.0.1)
  --chats N                seeded chats (default 1000)
  --users N                seeded users, each with one access token (default 3, or the number of --tokens)
  --seed N                 seed of the generated data (default 42)
  --tokens t1,t2,...       access tokens of the seeded users, in order (default sim-token-1 ... sim-token-N)
  --time-scale F           multiplies every window, lock and token lifetime (default 1)
  --throttle-shape 429|400 throttle response shape (default 429)
  --response-times offset|utc  ISO times with the user's offset (default) or UTC ".000Z"
  --chat-id-style numeric|ct   19-digit ids (default) or CT_<19 digits>_<digits>
  --participant-cap N      group participant limit (default 1000)
  --control                enable the control API under /_sim
  --help                   this text`

const invalid = (message: string) => ValidationError.invalidValue(HelpDoc.p(message))

/** A value flag whose rule is checked here, so that the one-line message names the flag and the rule. */
const checked = <A>(name: string, check: (raw: string) => Option.Option<A>, rule: string) =>
  Options.text(name).pipe(
    Options.mapEffect(raw =>
      Option.match(check(raw), {
        onNone: () => Effect.fail(invalid(`--${name} ${rule}, got "${raw}"`)),
        onSome: Effect.succeed
      })
    ),
    Options.optional
  )

const integer = (name: string, min: number, max: number) =>
  checked(
    name,
    raw => (/^\d+$/.test(raw) && Number(raw) >= min && Number(raw) <= max ? Option.some(Number(raw)) : Option.none()),
    `must be an integer from ${min} to ${max}`
  )

const oneOf = <const A extends string>(name: string, values: ReadonlyArray<A>) =>
  checked(name, raw => Option.fromNullable(values.find(v => v === raw)), `must be one of ${values.join(", ")}`)

const timeScale = checked(
  "time-scale",
  raw => (Number.isFinite(Number(raw)) && Number(raw) > 0 ? Option.some(Number(raw)) : Option.none()),
  "must be a number > 0"
)

const FLAGS = Options.all({
  port: integer("port", 0, 65535),
  host: Options.text("host").pipe(Options.optional),
  chats: integer("chats", 0, 2_000_000),
  users: integer("users", 1, 1000),
  seed: integer("seed", 0, 4_294_967_295),
  tokens: Options.text("tokens").pipe(Options.optional),
  timeScale,
  throttleShape: oneOf("throttle-shape", ["429", "400"]),
  responseTimes: oneOf("response-times", ["offset", "utc"]),
  chatIdStyle: oneOf("chat-id-style", ["numeric", "ct"]),
  participantCap: integer("participant-cap", 2, 1_000_000),
  control: Options.boolean("control"),
  help: Options.boolean("help")
})

const CONFIG = CliConfig.make({ autoCorrectLimit: 0, finalCheckBuiltIn: false, showBuiltIns: false })

const oneLine = (error: ValidationError.ValidationError) => HelpDoc.toAnsiText(error.error).trim()

/** What is left over after the flags were read: a flag unknown or given twice, or a bare argument. */
const leftover = (arg: string) =>
  arg.startsWith("--")
    ? `unknown or repeated flag ${arg.split("=")[0]} (see --help)`
    : `unexpected argument "${arg}" (flags start with --)`

const tokenList = (raw: string, users: number | undefined): Effect.Effect<ReadonlyArray<string>, FlagError> => {
  const tokens = raw.split(",").map(t => t.trim())
  if (tokens.some(t => t === "")) {
    return new FlagError({ message: "--tokens must be a comma-separated list of non-empty tokens" })
  }
  if (new Set(tokens).size !== tokens.length) return new FlagError({ message: "--tokens must not repeat a token" })
  if (users !== undefined && tokens.length !== users) {
    return new FlagError({ message: `--tokens must list exactly one token per user (--users ${users})` })
  }
  return Effect.succeed(tokens)
}

/** `--flag value` and `--flag=value`; an unknown flag, a missing value or a value out of range is a FlagError. */
export const parseFlags = (
  argv: ReadonlyArray<string>
): Effect.Effect<Flags, FlagError, FileSystem.FileSystem | Path.Path | Terminal.Terminal> =>
  Effect.gen(function* () {
    const [error, rest, flags] = yield* Options.processCommandLine(FLAGS, argv, CONFIG).pipe(
      Effect.mapError(e => new FlagError({ message: oneLine(e) }))
    )
    if (Option.isSome(error)) return yield* new FlagError({ message: oneLine(error.value) })
    if (rest[0] !== undefined) return yield* new FlagError({ message: leftover(rest[0]) })
    const users = Option.getOrUndefined(flags.users)
    const tokens = Option.isSome(flags.tokens) ? yield* tokenList(flags.tokens.value, users) : undefined
    return {
      ...Option.match(flags.chats, { onNone: () => ({}), onSome: chats => ({ chats }) }),
      ...Option.match(flags.seed, { onNone: () => ({}), onSome: seed => ({ seed }) }),
      ...(tokens === undefined ? {} : { tokens }),
      ...Option.match(flags.timeScale, { onNone: () => ({}), onSome: timeScale => ({ timeScale }) }),
      ...Option.match(flags.throttleShape, { onNone: () => ({}), onSome: throttleShape => ({ throttleShape }) }),
      ...Option.match(flags.responseTimes, { onNone: () => ({}), onSome: responseTimes => ({ responseTimes }) }),
      ...Option.match(flags.chatIdStyle, { onNone: () => ({}), onSome: chatIdStyle => ({ chatIdStyle }) }),
      ...Option.match(flags.participantCap, { onNone: () => ({}), onSome: participantCap => ({ participantCap }) }),
      users: users ?? tokens?.length ?? 3,
      port: Option.getOrElse(flags.port, () => 4010),
      host: Option.getOrElse(flags.host, () => "127.0.0.1"),
      control: flags.control,
      help: flags.help
    }
  })
