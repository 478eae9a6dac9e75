import type { IncomingMessage, ServerResponse } from "node:http"
import type { Reply } from "./Replies.js"

const MAX_BODY_BYTES = 5 * 1024 * 1024

export const readText = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    let size = 0
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size <= MAX_BODY_BYTES) chunks.push(chunk)
    })
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

export const NOT_JSON: unique symbol = Symbol("NOT_JSON")

/** `undefined` for an empty body, `NOT_JSON` when it does not parse. */
export const parseJson = (text: string): unknown => {
  if (text.trim() === "") return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return NOT_JSON
  }
}

export const send = (res: ServerResponse, reply: Reply): void => {
  const body = reply.bytes ?? reply.raw ?? (reply.body === undefined ? "" : JSON.stringify(reply.body))
  const length = typeof body === "string" ? Buffer.byteLength(body) : body.length
  const headers: Record<string, string | number> = { ...reply.headers, "content-length": length }
  if (length > 0) headers["content-type"] = "application/json;charset=UTF-8"
  res.writeHead(reply.status, headers)
  res.end(body)
}
