export { RedisPrefix, RedisUrl } from "@cliq-mirror/core"

export const COMMAND_QUEUE = "commands"
