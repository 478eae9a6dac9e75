import { Limits } from "@cliq-mirror/core"
import { type CommandRecord, CommandsRepo } from "@cliq-mirror/db"
import { Effect } from "effect"

/** Types where a run of commands on one chat needs only its last one sent: the final state is what counts. */
const LAST_WINS: Partial<Record<CommandRecord["type"], ReadonlyArray<CommandRecord["type"]>>> = {
  update_title: ["update_title"],
  mute_chat: ["mute_chat", "unmute_chat"],
  unmute_chat: ["mute_chat", "unmute_chat"],
  mark_as_read: ["mark_as_read"]
}

const CANDIDATES = 1_000

/** The leading run of a chat's unfinished commands whose types are in `types`. */
const leadingRun = (pending: ReadonlyArray<CommandRecord>, types: ReadonlyArray<string>) => {
  const run: Array<CommandRecord> = []
  for (const c of pending) {
    if (!types.includes(c.type)) break
    run.push(c)
  }
  return run
}

const chatIdsOf = (c: CommandRecord): ReadonlyArray<string> => (c.type === "clear_unread" ? c.params.chat_ids : [])

/**
 * The commands one upstream call will settle, decided before any budget is spent: the job's own command, plus what
 * coalescing lets it carry. Commands on one chat keep intake order: only a chat's leading run is ever coalesced, and a
 * clear_unread is carried only when no earlier command on any of its chats is unfinished.
 */
export const planBatch = Effect.fn("Commands.plan")(function* (command: CommandRecord) {
  const repo = yield* CommandsRepo
  const lastWins = LAST_WINS[command.type]
  // mark_as_read is planned and claimed in one transaction (CommandsRepo.claimReadBatch, called by Attempt).
  if (command.type === "clear_unread") {
    const candidates = yield* repo.pendingOfTypes(command.accountId, ["clear_unread"], CANDIDATES)
    const chatIds = new Set<string>(command.params.chat_ids)
    const batch: Array<CommandRecord> = [command]
    for (const c of candidates) {
      if (c.id === command.id || c.type !== "clear_unread") continue
      const merged = new Set([...chatIds, ...c.params.chat_ids])
      if (merged.size > Limits.bulkChatsMax) break
      if (yield* repo.hasPredecessor(c.accountId, chatIdsOf(c), c.intakeSeq)) continue
      for (const id of merged) chatIds.add(id)
      batch.push(c)
    }
    return batch
  }
  if (lastWins && command.chatId !== null) {
    const run = leadingRun(yield* repo.pendingOnChat(command.accountId, command.chatId, 100), lastWins)
    return run.some(c => c.id === command.id) ? run : [command]
  }
  return [command]
})

/** For last-wins runs: which command's payload goes out; the others are superseded by it. */
export const carrierOf = <C extends CommandRecord>(batch: ReadonlyArray<C>): C => batch[batch.length - 1]!
