import type { RunningSimulator } from "@cliq-mirror/simulator"
import { Effect, Schedule } from "effect"

const TITLES = ["Launch plan", "Weekly sync", "Release train", "Design review", "Support rota", "Budget 2027"]

/**
 * Live activity in the simulator, as other Cliq users would cause it: new messages (sometimes many chats in the same
 * millisecond), renames, pins, mutes and closes of the demo user.
 */
export const activity = (sim: RunningSimulator) => {
  let n = 0
  const step = Effect.sync(() => {
    n++
    const chats = sim.state
      .chats()
      .filter(t => !t.deleted && t.users.some(u => u.userIndex === 0 && u.member && !u.removed))
    const pick = () => chats[Math.floor(Math.random() * chats.length)]!
    sim.state.postMessage(pick().chatId)
    if (n % 5 === 0) sim.state.postMessages({ chatIds: chats.slice(0, 20).map(t => t.chatId), atMs: sim.state.now() })
    const group =
      chats.find(t => t.chatType === "group_chat" && t === pick()) ?? chats.find(t => t.chatType === "group_chat")
    if (group && n % 3 === 0) sim.state.renameChat(group.chatId, `${TITLES[n % TITLES.length]} #${n}`)
    if (n % 4 === 0) sim.state.setUserState(pick().chatId, { userIndex: 0, pinned: Math.random() < 0.5 })
    if (n % 7 === 0) sim.state.setUserState(pick().chatId, { userIndex: 0, muted: Math.random() < 0.5 })
  })
  return step.pipe(Effect.repeat(Schedule.spaced("2 seconds")), Effect.asVoid)
}
