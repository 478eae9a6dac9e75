/** What a handler answers; the server turns it into bytes. `body: undefined` = no body at all. */
export interface Reply {
  readonly status: number
  readonly body?: unknown
  /** Raw text sent as JSON content (used for malformed-body faults). */
  readonly raw?: string
  /** The JSON body already encoded as UTF-8 (list pages, see `jsonListBytes`). */
  readonly bytes?: Buffer
  readonly headers?: Readonly<Record<string, string>>
}

export const GENERIC = {
  400: "The request cannot be performed. Usually because of malformed parameter or missing parameter.",
  401: "Request was rejected because of invalid AuthToken.",
  403: "The user does not have enough permission or possibly not an user of the respective organization to access the resource.",
  404: "The URL you've sent is wrong. It's possible that the resource you've requested has been moved to another URL.",
  405: "The requested resource does not support the HTTP method used. For example, requesting List of all customers API with PUT as the HTTP method.",
  406: "The response has been received but the requested response type is not supported by the browser.",
  429: "Too many requests within a certain time frame.",
  500: "Cliq server encountered an error which prevents it from fulfilling the request."
} as const

/** Endpoint codes and Zoho's wording for them (docs/upstream.md#errors); `param_missing` names the field itself. */
export const MESSAGES: Readonly<Record<string, string>> = {
  "invalid.inputs.submitted": "Incorrect values submitted.",
  "invalid.time.submitted": "The time values submitted are invalid.",
  invalid_inputs: "Missing or invalid fields (e.g. chat_type not provided or unsupported).",
  invalid_request: "Fork input payload is invalid or incomplete.",
  chat_access_denied: "You must be a participant in this chat to perform this action.",
  chat_title_empty: "Title cannot be empty. Please enter a valid title.",
  channel_title_update_not_supported: "Channel title update is not supported through this API.",
  contact_rename_not_supported:
    "Renaming contacts in one-to-one chats is not allowed when contact display name is not preferred.",
  chatlet_title_modification_not_allowed: "You do not have permission to modify the title of this chatlet.",
  chat_clear_local_history_not_supported: "Clear local history is only supported for direct messages and group chats.",
  no_valid_users_available_to_create_chat: "All specified users are inactive or not in your contacts.",
  insufficient_members_to_create_group_chat:
    "Not enough valid members to create a group chat (minimum 3 including creator).",
  chat_not_available_with_this_inactive_user_and_cannot_create_newchat:
    "No chat history with this inactive user; cannot create a new chat.",
  group_chat_participants_limit_exceeded: "The maximum number of participants for this chat has been reached.",
  one_to_one_chat_add_member_not_allowed: "Adding members to a one-to-one chat is not allowed.",
  one_to_one_chat_delete_member_not_allowed: "Removing members from a one-to-one chat is not allowed.",
  chat_operation_failed: "Unable to perform the action. Please retry.",
  service_unavailable: "The messaging service is temporarily unavailable. Please try again later.",
  request_limit_exceeded: "You have exceeded the URL throttle limits."
}

export const json = (body: unknown, status = 200): Reply => ({ status, body })
export const noContent: Reply = { status: 204 }
/** docs/upstream.md#sim-empty-bodies: leave/mute/unmute answer 200 with no body at all. */
export const emptyOk: Reply = { status: 200 }

/** docs/upstream.md#sim-error-status: every endpoint code is a 400, except `service_unavailable` (503). */
export const fail = (code: string, message?: string): Reply => ({
  status: code === "service_unavailable" ? 503 : 400,
  body: { message: message ?? MESSAGES[code] ?? GENERIC[400], code }
})

export const paramMissing = (name: string): Reply => fail("param_missing", `The param '${name}' is missing.`)

export const generic = (status: keyof typeof GENERIC): Reply => ({ status, body: { message: GENERIC[status] } })

export const throttled = (shape: "429" | "400"): Reply =>
  shape === "429" ? generic(429) : fail("request_limit_exceeded")
