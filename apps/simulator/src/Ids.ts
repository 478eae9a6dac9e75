import type { Random } from "./Random.js"

export interface IdFactory {
  readonly chatId: () => string
  readonly messageId: (timeMs: number) => string
  readonly messageSuffix: () => number
  readonly userId: () => string
}

/** 19-digit numeric chat ids (or `CT_<19 digits>_<digits>`), `<ms>_<digits>` message ids, 8–9 digit user ids (docs/upstream.md#sim-ids). */
export const makeIdFactory = (random: Random, style: "numeric" | "ct"): IdFactory => {
  const chats = new Set<string>()
  const users = new Set<string>()
  const org = String(random.int(100_000_000, 999_999_999))
  const chatId = (): string => {
    for (;;) {
      const digits = `${random.int(100_000_000, 999_999_999)}${String(Math.floor(random.next() * 1e10)).padStart(10, "0")}`
      const id = style === "ct" ? `CT_${digits}_${org}` : digits
      if (!chats.has(id)) {
        chats.add(id)
        return id
      }
    }
  }
  const userId = (): string => {
    for (;;) {
      const id = String(random.chance(0.5) ? random.int(10_000_000, 99_999_999) : random.int(100_000_000, 999_999_999))
      if (!users.has(id)) {
        users.add(id)
        return id
      }
    }
  }
  const messageSuffix = () => random.int(10_000_000_000, 99_999_999_999)
  return { chatId, userId, messageSuffix, messageId: timeMs => `${timeMs}_${messageSuffix()}` }
}
