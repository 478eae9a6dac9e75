import { spawnSync } from "node:child_process"
import { tmpdir } from "node:os"
import { fileURLToPath } from "node:url"
import type { ChatEvent } from "@cliq-mirror/core"
import { parseCompactArgs } from "@cliq-mirror/db/CompactArgs"
import { emptyFold, foldChatEvent, planCompaction, type StoredChatEvent } from "@cliq-mirror/db/CompactPlan"
import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"

const raw = { chat_id: "c1", name: "Plans", chat_type: "group_chat", last_modified_time: "1760000000000" }
const discovered: ChatEvent = { type: "ChatDiscovered", payload: { raw } }
const renamed = (n: number): ChatEvent => ({
  type: "ChatRenamed",
  payload: { old_title: `t${n - 1}`, new_title: `t${n}`, previous_titles: null }
})
const joined: ChatEvent = {
  type: "MembersChanged",
  payload: {
    added: [{ user_id: "u2", name: "Ann", email_id: null }],
    removed: [],
    updated: [],
    fetched_at: "2026-12-01T00:00:00.000Z"
  }
}
const muted: ChatEvent = { type: "ChatMuted", payload: {} }
const stored = (events: ReadonlyArray<ChatEvent>, oldCount: number): Array<StoredChatEvent> =>
  events.map((event, i) => ({ seq: 10 * (i + 1), old: i < oldCount, event }))
const cutoff = new Date("2026-12-01T00:00:00.000Z")

const foldAll = (events: ReadonlyArray<ChatEvent>) => {
  const fold = emptyFold()
  for (const e of events) foldChatEvent(fold, e)
  return fold
}

describe("planCompaction", () => {
  it("keeps a chat with fewer than two events before the cutoff", () => {
    assert.deepStrictEqual(planCompaction(stored([discovered, renamed(1), muted], 1), cutoff), {
      _tag: "Keep",
      reason: "nothing_to_gain"
    })
  })

  it("keeps a chat whose events fold to no state", () => {
    assert.deepStrictEqual(planCompaction(stored([renamed(1), renamed(2)], 2), cutoff), {
      _tag: "Keep",
      reason: "no_state"
    })
  })

  it("deletes the old prefix only and snapshots the state after every event, members included", () => {
    const events = [discovered, renamed(1), joined, muted, renamed(2)]
    // The fourth event is recent, the fifth old again (a late commit): only the prefix of three goes.
    const input = stored(events, 3).map((e, i) => (i === 4 ? { ...e, old: true } : e))
    const plan = planCompaction(input, cutoff)
    assert.strictEqual(plan._tag, "Snapshot")
    if (plan._tag !== "Snapshot") return
    assert.deepStrictEqual(plan.deleteSeqs, [10, 20, 30])
    assert.strictEqual(plan.snapshot.through_seq, 50)
    assert.strictEqual(plan.snapshot.events_compacted, 3)
    assert.strictEqual(plan.snapshot.compacted_before, "2026-12-01T00:00:00.000Z")
    assert.strictEqual(plan.snapshot.state.name, "t2")
    assert.isTrue(plan.snapshot.state.muted)
    assert.deepStrictEqual(plan.snapshot.members, [{ user_id: "u2", name: "Ann", email_id: null }])

    // Folding the snapshot (after whatever is left before it) gives what folding every event gives.
    const whole = foldAll(events)
    const compacted = foldAll([muted, renamed(2), { type: "ChatSnapshotted", payload: plan.snapshot }])
    assert.deepStrictEqual(compacted.state, whole.state)
    assert.deepStrictEqual([...compacted.members], [...whole.members])
  })

  it("counts what earlier snapshots compacted", () => {
    const first = planCompaction(stored([discovered, renamed(1), renamed(2)], 3), cutoff)
    if (first._tag !== "Snapshot") return assert.fail("expected a snapshot")
    const snapshot: ChatEvent = { type: "ChatSnapshotted", payload: first.snapshot }
    const second = planCompaction(stored([snapshot, renamed(3), muted], 3), cutoff)
    if (second._tag !== "Snapshot") return assert.fail("expected a snapshot")
    assert.strictEqual(second.snapshot.events_compacted, 3 + 2)
    assert.strictEqual(second.snapshot.state.name, "t3")
  })
})

const now = new Date("2026-12-07T12:00:00.000Z")
const problems = (argv: ReadonlyArray<string>) =>
  Either.match(parseCompactArgs(argv, now), { onLeft: p => p, onRight: () => [] })

describe("npm run compact arguments", () => {
  it("defaults to keeping 30 days, in chunks of 500 chats", () => {
    assert.deepStrictEqual(
      parseCompactArgs([], now),
      Either.right({
        before: new Date("2026-11-07T12:00:00.000Z"),
        chunk: 500,
        dryRun: false
      })
    )
  })

  it("takes --keep-days, --before, --chunk and --dry-run, with a space or =", () => {
    assert.deepStrictEqual(
      parseCompactArgs(["--keep-days", "0", "--chunk=20", "--dry-run"], now),
      Either.right({ before: now, chunk: 20, dryRun: true })
    )
    assert.deepStrictEqual(
      parseCompactArgs(["--before=2026-11-01"], now),
      Either.right({ before: new Date("2026-11-01T00:00:00.000Z"), chunk: 500, dryRun: false })
    )
  })

  it("names the flag and its rule for every problem", () => {
    assert.deepStrictEqual(problems(["--keep-days", "-1", "--chunk", "0", "--before", "yesterday", "--force"]), [
      "--keep-days: must be an integer from 0 to 36500",
      "--chunk: must be an integer from 1 to 10000",
      "--before: must be an ISO 8601 date or time, e.g. 2026-11-01 or 2026-11-01T00:00:00Z",
      "--force: unknown option (known: --keep-days, --before, --chunk, --dry-run)",
      "--before: cannot be combined with --keep-days"
    ])
    assert.deepStrictEqual(problems(["--keep-days"]), ["--keep-days: must be an integer from 0 to 36500"])
    assert.deepStrictEqual(problems(["--before", "2027-01-01"]), ["--before: must not be in the future"])
  })

  it("npm run compact with a bad flag exits 1 with one line naming it, before connecting to anything", () => {
    const run = spawnSync(
      fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url)),
      [fileURLToPath(new URL("../../packages/db/src/runCompact.ts", import.meta.url)), "--keep-days", "soon"],
      {
        cwd: tmpdir(),
        env: {
          PATH: process.env.PATH ?? "",
          TSX_TSCONFIG_PATH: fileURLToPath(new URL("../../tsconfig.json", import.meta.url)),
          DATABASE_URL: "postgres://nobody@127.0.0.1:1/none"
        },
        encoding: "utf8",
        timeout: 50_000
      }
    )
    assert.strictEqual(run.status, 1, run.stderr)
    assert.strictEqual(run.stderr, "invalid arguments: --keep-days: must be an integer from 0 to 36500\n")
    assert.strictEqual(run.stdout, "")
  }, 60_000)
})
