// node --import tsx bench/support/ReadApiBare.ts <database url> <port> — the read-api bench's baseline: a bare
// node:http + postgres.js server answering the benched requests with the same rows and columns as the API, through
// the same indexes (ORDER BY and predicates as ChatsQuery writes them), with no validation, no auth and no DTO.
import { createServer } from "node:http"
import postgres from "postgres"

const [databaseUrl, port] = process.argv.slice(2)
const sql = postgres(databaseUrl!, { max: 10, onnotice: () => {} })

const COLUMNS = `account_id, chat_id, name, chat_type, participant_count, creator_id, creator_name, created_time,
  last_modified_time, pinned, removed, unread_message_count, unread_time, last_message_info, previous_titles,
  thread_message_id, parent_chat_id, muted, closed, drafts, joined, members_fetched_at, synced_at`

const list = (params: URLSearchParams) => {
  const values: Array<string | number | Array<string>> = []
  const bind = (v: string | number | Array<string>) => {
    values.push(v)
    return `$${values.length}`
  }
  const where: Array<string> = []
  const accountId = params.get("account_id")
  if (accountId !== null) where.push(`account_id = ${bind(accountId)}`)
  const types = params.get("chat_type")
  if (types !== null) where.push(`chat_type = any(${bind(types.split(","))}::text[])`)
  if (params.get("unread") === "true") where.push("unread_message_count > 0")
  const q = params.get("q")
  if (q !== null && q !== "") where.push(`lower(name) like '%' || lower(${bind(q)}) || '%'`)
  const limit = Number(params.get("limit") ?? 100)
  return sql
    .unsafe(
      `select ${COLUMNS} from chats ${where.length === 0 ? "" : `where ${where.join(" and ")}`}
     order by coalesce(last_modified_time, '-infinity'::timestamptz) desc, chat_id desc, account_id desc
     limit ${bind(limit + 1)}`,
      values,
      { prepare: true }
    )
    .then(rows => rows.slice(0, limit))
}

const get = (chatId: string) =>
  sql.unsafe(`select ${COLUMNS} from chats where chat_id = $1 order by account_id limit 1`, [chatId], { prepare: true })

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://x")
  const send = (status: number, body: string) => {
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
    res.end(body)
  }
  const answer =
    url.pathname === "/v1/chats"
      ? list(url.searchParams).then(rows => send(200, JSON.stringify({ data: rows, next_cursor: null })))
      : url.pathname.startsWith("/v1/chats/")
        ? get(decodeURIComponent(url.pathname.slice("/v1/chats/".length))).then(([row]) =>
            row === undefined ? send(404, "{}") : send(200, JSON.stringify(row))
          )
        : Promise.resolve(send(404, "{}"))
  answer.catch(error => send(500, JSON.stringify({ error: String(error) })))
})

server.listen(Number(port), "127.0.0.1", () => {
  const address = server.address()
  console.log(`bare read server listening on ${typeof address === "object" && address ? address.port : port}`)
})

const stop = () => {
  server.close()
  void sql.end({ timeout: 2 }).then(() => process.exit(0))
}
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
