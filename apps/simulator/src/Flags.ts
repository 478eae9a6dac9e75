import { Data, Effect } from "effect"
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

const VALUE_FLAGS = [
  "port",
  "host",
  "chats",
  "users",
  "seed",
  "tokens",
  "time-scale",
  "throttle-shape",
  "response-times",
  "chat-id-style",
  "participant-cap"
] as const
type ValueFlag = (typeof VALUE_FLAGS)[number]

const integer = (flag: string, raw: string, min: number, max: number): Effect.Effect<number, FlagError> => {
  const n = Number(raw)
  return /^\d+$/.test(raw) && n >= min && n <= max
    ? Effect.succeed(n)
    : Effect.fail(new FlagError({ message: `--${flag} must be an integer from ${min} to ${max}, got "${raw}"` }))
}

const oneOf = <A extends string>(flag: string, raw: string, values: ReadonlyArray<A>): Effect.Effect<A, FlagError> =>
  (values as ReadonlyArray<string>).includes(raw)
    ? Effect.succeed(raw as A)
    : Effect.fail(new FlagError({ message: `--${flag} must be one of ${values.join(", ")}, got "${raw}"` }))

/** `--flag value` and `--flag=value`; an unknown flag, a missing value or a value out of range is a FlagError. */
export const parseFlags = (argv: ReadonlyArray<string>): Effect.Effect<Flags, FlagError> =>
  Effect.gen(function* () {
    const values: Partial<Record<ValueFlag, string>> = {}
    let control = false
    let help = false
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!
      if (!arg.startsWith("--"))
        return yield* new FlagError({ message: `unexpected argument "${arg}" (flags start with --)` })
      const [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined]
      if (name === "control" || name === "help") {
        if (inline !== undefined) return yield* new FlagError({ message: `--${name} takes no value` })
        if (name === "control") control = true
        else help = true
        continue
      }
      if (!(VALUE_FLAGS as ReadonlyArray<string>).includes(name)) {
        return yield* new FlagError({ message: `unknown flag --${name} (see --help)` })
      }
      const value = inline ?? argv[++i]
      if (value === undefined || (inline === undefined && value.startsWith("--"))) {
        return yield* new FlagError({ message: `--${name} needs a value` })
      }
      values[name as ValueFlag] = value
    }
    const port = values.port === undefined ? 4010 : yield* integer("port", values.port, 0, 65535)
    const chats = values.chats === undefined ? undefined : yield* integer("chats", values.chats, 0, 2_000_000)
    const seed = values.seed === undefined ? undefined : yield* integer("seed", values.seed, 0, 4_294_967_295)
    const participantCap =
      values["participant-cap"] === undefined
        ? undefined
        : yield* integer("participant-cap", values["participant-cap"], 2, 1_000_000)
    const tokens = values.tokens?.split(",").map(t => t.trim())
    if (tokens?.some(t => t === "")) {
      return yield* new FlagError({ message: "--tokens must be a comma-separated list of non-empty tokens" })
    }
    if (tokens && new Set(tokens).size !== tokens.length) {
      return yield* new FlagError({ message: "--tokens must not repeat a token" })
    }
    const users = values.users === undefined ? (tokens?.length ?? 3) : yield* integer("users", values.users, 1, 1000)
    if (tokens && tokens.length !== users) {
      return yield* new FlagError({ message: `--tokens must list exactly one token per user (--users ${users})` })
    }
    let timeScale: number | undefined
    if (values["time-scale"] !== undefined) {
      timeScale = Number(values["time-scale"])
      if (!Number.isFinite(timeScale) || timeScale <= 0) {
        return yield* new FlagError({ message: `--time-scale must be a number > 0, got "${values["time-scale"]}"` })
      }
    }
    const throttleShape =
      values["throttle-shape"] === undefined
        ? undefined
        : yield* oneOf("throttle-shape", values["throttle-shape"], ["429", "400"] as const)
    const responseTimes =
      values["response-times"] === undefined
        ? undefined
        : yield* oneOf("response-times", values["response-times"], ["offset", "utc"] as const)
    const chatIdStyle =
      values["chat-id-style"] === undefined
        ? undefined
        : yield* oneOf("chat-id-style", values["chat-id-style"], ["numeric", "ct"] as const)
    const optional = { chats, seed, tokens, timeScale, throttleShape, responseTimes, chatIdStyle, participantCap }
    return {
      ...(Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)) as SimulatorOptions),
      users,
      port,
      host: values.host ?? "127.0.0.1",
      control,
      help
    }
  })
