import type { RunningSimulator } from "../src/index.js"
import type { ChatTruth } from "../src/Truth.js"

export interface ApiResponse {
  readonly status: number
  readonly text: string
  /** Parsed JSON, or `undefined` for an empty body. */
  readonly body: unknown
  readonly headers: Headers
}

export type Json = Record<string, unknown>

const parse = (text: string): unknown => (text === "" ? undefined : (JSON.parse(text) as unknown))

export const request = async (
  url: string,
  init: {
    method?: string
    token?: string | null
    body?: unknown
    rawBody?: string
    headers?: Record<string, string>
  } = {}
): Promise<ApiResponse> => {
  const headers: Record<string, string> = { ...init.headers }
  if (init.token) headers.authorization = `Zoho-oauthtoken ${init.token}`
  if (init.body !== undefined) headers["content-type"] = "application/json"
  const body = init.rawBody ?? (init.body !== undefined ? JSON.stringify(init.body) : undefined)
  const res = await fetch(url, { method: init.method ?? "GET", headers, ...(body !== undefined ? { body } : {}) })
  const text = await res.text()
  return { status: res.status, text, body: parse(text), headers: res.headers }
}

/** A client bound to one seeded user of a running simulator. */
export const client = (sim: RunningSimulator, userIndex = 0) => {
  const token = sim.state.options.tokens[userIndex]!
  const url = (path: string, query?: Record<string, string | number | boolean>) => {
    const qs = query
      ? `?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]))}`
      : ""
    return `${sim.apiBaseUrl}${path}${qs}`
  }
  return {
    token,
    get: (path: string, query?: Record<string, string | number | boolean>) => request(url(path, query), { token }),
    put: (path: string, body: unknown) => request(url(path), { method: "PUT", token, body }),
    post: (path: string, body?: unknown) => request(url(path), { method: "POST", token, body }),
    del: (path: string, query?: Record<string, string | number | boolean>) =>
      request(url(path, query), { method: "DELETE", token })
  }
}

export const chatsOf = (res: ApiResponse): Array<Json> => (res.body as { chats: Array<Json> }).chats

export const dataOf = (res: ApiResponse): Json => (res.body as { data: Json }).data

/** A chat the given user belongs to (member, not removed), matching `pred`. */
export const memberChat = (
  sim: RunningSimulator,
  userIndex: number,
  pred: (chat: ChatTruth) => boolean = () => true
): ChatTruth => {
  for (const summary of sim.state.chats()) {
    const u = summary.users.find(x => x.userIndex === userIndex)
    if (u === undefined || !u.member || u.removed) continue
    const chat = sim.state.chat(summary.chatId)!
    if (pred(chat)) return chat
  }
  throw new Error("no matching chat in the seeded data")
}

export const userView = (chat: ChatTruth, userIndex: number) => chat.users.find(u => u.userIndex === userIndex)!

/** Active people who are not seeded accounts and not guests. */
export const outsiders = (sim: RunningSimulator) =>
  sim.state
    .people()
    .filter(p => p.active && !p.guest && !p.account)
    .map(p => p.userId)
