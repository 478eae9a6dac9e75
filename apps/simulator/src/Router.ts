import type { Operation } from "@cliq-mirror/core"

export interface ApiRoute {
  readonly shape: Operation["path"]
  readonly chatId: string
}

const SUBRESOURCES = new Set(["members", "forks", "activities", "leave", "mute", "unmute"])

const decode = (segment: string): string | undefined => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

/** Maps a path below /api/v3 to the path shape used by the operation table; `undefined` = unknown route (404). */
export const matchApiPath = (path: string): ApiRoute | undefined => {
  const parts = path.split("/").filter(p => p !== "")
  if (parts[0] !== "chats") return undefined
  if (parts.length === 1) return { shape: "/chats", chatId: "" }
  if (parts[1] === "search" && parts.length === 2) return { shape: "/chats/search", chatId: "" }
  const chatId = decode(parts[1]!)
  if (chatId === undefined || chatId === "") return undefined
  if (parts.length === 2) return { shape: "/chats/{chat_id}", chatId }
  if (parts.length === 3 && SUBRESOURCES.has(parts[2]!)) {
    return { shape: `/chats/{chat_id}/${parts[2]!}`, chatId }
  }
  return undefined
}
