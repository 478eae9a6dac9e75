import { Config, Redacted } from "effect"

export const RedisUrl = Config.redacted("REDIS_URL").pipe(
  Config.withDefault(Redacted.make("redis://127.0.0.1:6379")),
  Config.validate({
    message: "must be a redis:// or rediss:// URL",
    validation: url => {
      try {
        return ["redis:", "rediss:"].includes(new URL(Redacted.value(url)).protocol)
      } catch {
        return false
      }
    }
  })
)

/** Every key the project writes in Redis starts with this (rate budget, tokens, queue); tests isolate by it. */
export const RedisPrefix = Config.string("REDIS_PREFIX").pipe(
  Config.withDefault("cliq-mirror:"),
  Config.validate({ message: "must be 1 to 64 characters without spaces", validation: p => /^\S{1,64}$/.test(p) })
)

export const COMMAND_QUEUE = "commands"
