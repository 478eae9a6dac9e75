import { describe, expect, it } from "vitest"
import { flagSettlement } from "../src/Sync/StateFlags.js"

describe("flagSettlement", () => {
  it("sets the flag on chats the listings showed and clears it on flagged chats they did not", () => {
    expect(flagSettlement("muted", new Set(["a", "b"]), ["b", "c"], [])).toEqual([
      { flag: "muted", value: true, chatIds: ["a", "b"] },
      { flag: "muted", value: false, chatIds: ["c"] }
    ])
  })

  // The listings began before another writer (a command's settlement, the hidden pass) changed these chats' flag:
  // settling them from the listings would undo the newer write until the next state pass.
  it("leaves alone the chats whose flag was written after the listings began", () => {
    // c was muted by a command after the listing that did not show it; a was unmuted after the listing showed it.
    expect(flagSettlement("muted", new Set(["a", "b"]), ["b", "c"], ["a", "c"])).toEqual([
      { flag: "muted", value: true, chatIds: ["b"] },
      { flag: "muted", value: false, chatIds: [] }
    ])
  })
})
