import { describe, expect, it } from "vitest"
import { flagSettlement } from "../src/Sync/StateFlags.js"

describe("flagSettlement", () => {
  // The listings began at event 42: a chat whose flag another writer (a command's settlement, the hidden pass) wrote
  // after that keeps that write when the page commits (PageWrite's `since`; packages/db/test/MirrorQueries.test.ts).
  it("sets the flag on chats the listings showed and clears it on flagged chats they did not, as of `since`", () => {
    expect(flagSettlement("muted", new Set(["a", "b"]), ["b", "c"], 42)).toEqual([
      { flag: "muted", value: true, chatIds: ["a", "b"], since: 42 },
      { flag: "muted", value: false, chatIds: ["c"], since: 42 }
    ])
  })
})
