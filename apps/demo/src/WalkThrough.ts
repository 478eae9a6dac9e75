/** What the demo prints once the API answers: a walk-through with the CLI, each line runnable exactly as printed. */
export const walkThrough = (api: string, token: string): ReadonlyArray<string> => [
  `  export CLIQ_MIRROR_URL=${api} CLIQ_MIRROR_TOKEN=${token}`,
  "  npx cliq-mirror status",
  "  npx cliq-mirror chats list --unread true --limit 10",
  "  npx cliq-mirror bulk mark_as_read --where unread=true --dry-run",
  "  npx cliq-mirror bulk mark_as_read --where unread=true --yes",
  "  npx cliq-mirror commands list --type mark_as_read --limit 5",
  "  npx cliq-mirror chats export --format csv > chats.csv",
  `  curl -H 'Authorization: Bearer ${token}' '${api}/v1/chats?unread=true&limit=5'`
]
