import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { BUCKET_IDS, BUCKETS, type BucketId, type BucketTable } from "@cliq-mirror/core"
import { Effect } from "effect"
import { type ChatTruth, type SimulatorOptions, startSimulator } from "../../apps/simulator/src/index.js"
import { cleanup } from "./Scratch.js"

export const TOKEN = "sim-token-1"

/** The simulator in this process; every bench account is its first user. */
export const simulator = (options: SimulatorOptions) =>
  Effect.acquireRelease(
    Effect.promise(() => startSimulator({ port: 0, host: "127.0.0.1", users: 1, control: true, ...options })),
    sim => cleanup("simulator", () => sim.close())
  )

export const raisedBuckets = (threshold: number, ids: ReadonlyArray<BucketId> = BUCKET_IDS): BucketTable =>
  Object.fromEntries(
    BUCKET_IDS.map(id => [id, ids.includes(id) ? { ...BUCKETS[id], threshold } : BUCKETS[id]])
  ) as unknown as BucketTable

/** A directory removed with the scope (rate-limit files, profiles the caller did not ask to keep). */
export const tempDir = (label: string) =>
  Effect.acquireRelease(
    Effect.promise(() => mkdtemp(join(tmpdir(), `cliq-bench-${label}-`))),
    dir => cleanup(dir, () => rm(dir, { recursive: true, force: true }))
  )

/** RATE_LIMITS_FILE content for the daemon: the thresholds of `table` for the given buckets. */
export const writeRateLimits = (dir: string, table: BucketTable, ids: ReadonlyArray<BucketId>) =>
  Effect.promise(async () => {
    const file = join(dir, "rate-limits.json")
    const body = Object.fromEntries(ids.map(id => [id, { threshold: table[id].threshold }]))
    await writeFile(file, JSON.stringify(body))
    return file
  })

/** What a full search walk of user 1 must mirror: every chat the user has not been removed from. */
export const visibleChats = (sim: { readonly state: { readonly chats: () => ReadonlyArray<ChatTruth> } }) =>
  sim.state.chats().filter(c => c.users.some(u => u.userIndex === 0 && !u.removed)).length
