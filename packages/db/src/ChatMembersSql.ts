import type { MemberInfo } from "@cliq-mirror/core"
import type { TxSql } from "./EventAppend.js"

/** The stored member lists of these chats, by chat id (a chat without members is absent). */
export const selectMembers = async (tx: TxSql, accountId: string, chatIds: ReadonlyArray<string>) => {
  const rows = await tx<Array<{ chat_id: string; user_id: string; name: string | null; email_id: string | null }>>`
    select chat_id, user_id, name, email_id from chat_members where account_id = ${accountId} and chat_id = any(${[...chatIds]})`
  const byChat = new Map<string, Array<MemberInfo>>()
  for (const m of rows) {
    const list = byChat.get(m.chat_id) ?? []
    byChat.set(m.chat_id, list)
    list.push({ user_id: m.user_id, name: m.name, email_id: m.email_id })
  }
  return byChat
}

const upsertMembers = (tx: TxSql, accountId: string, chatId: string, members: ReadonlyArray<MemberInfo>) =>
  tx`
    insert into chat_members (account_id, chat_id, user_id, name, email_id)
    select ${accountId}, ${chatId}, user_id, name, email_id
    from json_to_recordset(${JSON.stringify(members)}::text::json) as r(user_id text, name text, email_id text)
    on conflict (account_id, chat_id, user_id) do update set name = excluded.name, email_id = excluded.email_id`

/** The member projection follows MembersChanged events, here and in replay alike. */
export const applyMemberDelta = async (
  tx: TxSql,
  accountId: string,
  chatId: string,
  delta: {
    readonly added: ReadonlyArray<MemberInfo>
    readonly removed: ReadonlyArray<string>
    readonly updated: ReadonlyArray<MemberInfo>
  }
) => {
  if (delta.removed.length > 0) {
    await tx`delete from chat_members where account_id = ${accountId} and chat_id = ${chatId}
      and user_id = any(${[...delta.removed]})`
  }
  const upserts = [...delta.added, ...delta.updated]
  if (upserts.length > 0) await upsertMembers(tx, accountId, chatId, upserts)
}

export const replaceMembers = async (
  tx: TxSql,
  accountId: string,
  chatId: string,
  members: ReadonlyArray<MemberInfo>
) => {
  await tx`delete from chat_members where account_id = ${accountId} and chat_id = ${chatId}`
  if (members.length > 0) await upsertMembers(tx, accountId, chatId, members)
}
