import {
  afterAttempt,
  afterCheck,
  CliqNeedsReauth,
  CliqPermanent,
  CliqRetryable,
  CliqThrottled,
  type CommandFacts,
  decide,
  MAX_ATTEMPTS,
  onRefused,
  RateBudgetError,
  Step,
  type Surroundings
} from "@cliq-mirror/core"
import { assert, describe, it } from "@effect/vitest"

const NOW = 1_000_000
const timing = { orderPollMs: 50, reauthRecheckMs: 600, throttleFallbackMs: 700 }
const given = (facts: Partial<CommandFacts> = {}): CommandFacts => ({
  type: "update_title",
  status: "queued",
  attempts: 0,
  lastError: null,
  eta: null,
  leaseUntil: null,
  needsCheck: false,
  ...facts
})
const around = (s: Partial<Surroundings> = {}): Surroundings => ({
  accountKnown: true,
  credentialsRevoked: false,
  predecessor: false,
  timing,
  ...s
})
const next = { backoffMs: 4_000, timing }

const timeout = new CliqRetryable({
  operation: "createChat",
  reason: "timeout",
  outcomeUnknown: true,
  message: "createChat: no complete answer"
})
const serverError = new CliqRetryable({
  operation: "updateTitle",
  status: 503,
  reason: "status",
  outcomeUnknown: false,
  message: "HTTP 503"
})
const throttled = new CliqThrottled({
  operation: "updateTitle",
  bucket: "chats.update",
  status: 429,
  message: "too many"
})
const refusedForGood = new CliqPermanent({
  operation: "updateTitle",
  status: 400,
  code: "channel_title_update_not_supported",
  message: "no"
})
const revoked = new CliqNeedsReauth({ accountId: "a", reason: "invalid_grant", message: "configure new credentials" })

describe("decide: before any budget is spent", () => {
  it("a finished or cancelled command is skipped", () => {
    for (const status of ["succeeded", "failed", "cancelled"] as const) {
      assert.deepStrictEqual(decide(given({ status }), around(), NOW), Step.Skip())
    }
  })

  it("an unknown account fails the command", () => {
    const step = decide(given(), around({ accountKnown: false }), NOW)
    assert.strictEqual(step._tag, "Fail")
    assert.strictEqual(step._tag === "Fail" && step.error.code, "unknown_account")
  })

  it("a running command whose lease is live waits for the lease, without touching the row", () => {
    const step = decide(given({ status: "running", leaseUntil: NOW + 5_000 }), around(), NOW)
    assert.deepStrictEqual(
      step,
      Step.Delay({ until: NOW + 5_100, mark: null, error: null, needsCheck: false, refundAttempt: false })
    )
  })

  it("a running command whose lease passed is reclaimed; a non-idempotent one is checked first", () => {
    const stalled = { status: "running" as const, leaseUntil: NOW - 1 }
    assert.deepStrictEqual(decide(given(stalled), around(), NOW), Step.Claim({ verifyFirst: false, reclaim: true }))
    assert.deepStrictEqual(
      decide(given({ ...stalled, type: "create_chat" }), around(), NOW),
      Step.Claim({ verifyFirst: true, reclaim: true })
    )
  })

  // A dead call that carried a run of one chat's commands (a coalesced rename, mute, mark-as-read) leaves them all
  // running: taken over in any order, they would land in any order, an older title last.
  it("a running command whose lease passed waits for an unfinished earlier command of its chat", () => {
    const stalled = given({ status: "running", leaseUntil: NOW - 1 })
    assert.deepStrictEqual(
      decide(stalled, around({ predecessor: true }), NOW),
      Step.Delay({ until: NOW + 50, mark: null, error: null, needsCheck: false, refundAttempt: false })
    )
  })

  // A process that does not know the account (a rolling deploy that removed it) must not fail a command another
  // process is sending.
  it("a running command whose lease is live waits even when this process does not know its account", () => {
    const step = decide(given({ status: "running", leaseUntil: NOW + 5_000 }), around({ accountKnown: false }), NOW)
    assert.strictEqual(step._tag, "Delay")
    const stalled = decide(given({ status: "running", leaseUntil: NOW - 1 }), around({ accountKnown: false }), NOW)
    assert.strictEqual(stalled._tag, "Fail")
  })

  it("an unfinished earlier command on its chat makes it wait (order)", () => {
    const step = decide(given(), around({ predecessor: true }), NOW)
    assert.deepStrictEqual(
      step,
      Step.Delay({ until: NOW + 50, mark: null, error: null, needsCheck: false, refundAttempt: false })
    )
  })

  it("revoked credentials: wait for new ones without an attempt", () => {
    const step = decide(given({ status: "waiting_reauth" }), around({ credentialsRevoked: true }), NOW)
    assert.deepStrictEqual(step, Step.WaitForCredentials({ until: NOW + 600, error: null, refundAttempt: false }))
  })

  it("credentials working again: a waiting_reauth command goes on at once", () => {
    const step = decide(given({ status: "waiting_reauth", eta: NOW + 10_000 }), around(), NOW)
    assert.deepStrictEqual(step, Step.Claim({ verifyFirst: false, reclaim: false }))
  })

  it("a backoff not yet over: wait until it is", () => {
    const step = decide(given({ eta: NOW + 3_000 }), around(), NOW)
    assert.strictEqual(step._tag === "Delay" && step.until, NOW + 3_000)
  })

  it("otherwise claim; a command left unchecked is checked first only when it is not idempotent", () => {
    assert.deepStrictEqual(
      decide(given({ eta: NOW }), around(), NOW),
      Step.Claim({ verifyFirst: false, reclaim: false })
    )
    assert.deepStrictEqual(
      decide(given({ needsCheck: true }), around(), NOW),
      Step.Claim({ verifyFirst: false, reclaim: false })
    )
    for (const type of ["create_chat", "fork_chat", "add_members", "remove_members", "leave_chat"] as const) {
      assert.deepStrictEqual(
        decide(given({ type, needsCheck: true }), around(), NOW),
        Step.Claim({ verifyFirst: true, reclaim: false }),
        type
      )
    }
  })
})

describe("onRefused: the budget has no slot", () => {
  const refusal = { carry: 1, threshold: 20, periodMs: 62_000, freesAt: NOW + 1_000 }
  it("the first in line waits until the next slot frees", () => {
    const step = onRefused(given(), { ...refusal, ahead: 0 }, NOW)
    assert.deepStrictEqual(
      step,
      Step.Delay({
        until: NOW + 1_000,
        mark: "waiting_rate_limit",
        error: null,
        needsCheck: false,
        refundAttempt: false
      })
    )
  })
  it("a whole threshold ahead of it: one period later", () => {
    const step = onRefused(given(), { ...refusal, ahead: 20 }, NOW)
    assert.strictEqual(step._tag === "Delay" && step.until, NOW + 1_000 + 62_000)
  })
  it("bulk commands count by call: 100 chats ahead of a mark_as_read are one call", () => {
    const step = onRefused(given({ type: "mark_as_read" }), { ...refusal, carry: 100, threshold: 1, ahead: 150 }, NOW)
    assert.strictEqual(step._tag === "Delay" && step.until, NOW + 1_000 + 62_000)
  })
})

describe("afterCheck: the read before re-sending a non-idempotent command", () => {
  const unsure = given({ type: "create_chat", status: "running", attempts: 2, needsCheck: true })
  it("the effect is there: settle without sending", () => {
    assert.deepStrictEqual(afterCheck(unsure, { _tag: "Present" }, NOW, next), Step.Settle())
  })
  it("the effect is not there: send", () => {
    assert.deepStrictEqual(afterCheck(unsure, { _tag: "Absent" }, NOW, next), Step.Send())
  })
  it("the read failed: wait and check again later, never send", () => {
    const step = afterCheck(unsure, { _tag: "Unanswered", error: serverError, lockedUntil: null }, NOW, next)
    assert.strictEqual(step._tag, "Delay")
    if (step._tag !== "Delay") return
    assert.strictEqual(step.until, NOW + 4_000)
    assert.strictEqual(step.mark, "queued")
    assert.isTrue(step.needsCheck)
    assert.strictEqual(step.error?.code, "verification_pending")
  })
  it("the read was throttled: wait for the lock, still unchecked", () => {
    const step = afterCheck(unsure, { _tag: "Unanswered", error: throttled, lockedUntil: NOW + 9_000 }, NOW, next)
    assert.deepStrictEqual(
      step,
      Step.Delay({
        until: NOW + 9_000,
        mark: "waiting_rate_limit",
        error: { code: "verification_pending", message: "not re-sent until a check answers: too many" },
        needsCheck: true,
        refundAttempt: true
      })
    )
  })
  it("credentials revoked during the read: wait for them", () => {
    const step = afterCheck(unsure, { _tag: "Unanswered", error: revoked, lockedUntil: null }, NOW, next)
    assert.strictEqual(step._tag, "WaitForCredentials")
  })
  it("no attempt left: fail as outcome unknown (a retry checks first)", () => {
    const step = afterCheck(
      { ...unsure, attempts: MAX_ATTEMPTS },
      { _tag: "Unanswered", error: serverError, lockedUntil: null },
      NOW,
      next
    )
    assert.strictEqual(step._tag === "Fail" && step.error.code, "outcome_unknown")
  })
})

describe("afterAttempt: after the call", () => {
  const running = given({ status: "running", attempts: 1 })
  const failed = (error: Parameters<typeof afterAttempt>[1] extends infer O ? O : never) => error
  it("success settles", () => {
    assert.deepStrictEqual(afterAttempt(running, { _tag: "Succeeded" }, NOW, next), Step.Settle())
  })
  it("a throttle waits for the bucket's lock (or a fallback), giving the attempt back", () => {
    const locked = afterAttempt(
      running,
      failed({ _tag: "Failed", error: throttled, lockedUntil: NOW + 600_000 }),
      NOW,
      next
    )
    assert.strictEqual(locked._tag === "Delay" && locked.until, NOW + 600_000)
    assert.strictEqual(locked._tag === "Delay" && locked.mark, "waiting_rate_limit")
    assert.isTrue(locked._tag === "Delay" && locked.refundAttempt)
    const unknown = afterAttempt(running, { _tag: "Failed", error: throttled, lockedUntil: null }, NOW, next)
    assert.strictEqual(unknown._tag === "Delay" && unknown.until, NOW + 700)
  })
  it("revoked credentials: waiting_reauth, the attempt given back", () => {
    assert.deepStrictEqual(
      afterAttempt(running, { _tag: "Failed", error: revoked, lockedUntil: null }, NOW, next),
      Step.WaitForCredentials({
        until: NOW + 600,
        error: { code: "needs_reauthorisation", message: "configure new credentials" },
        refundAttempt: true
      })
    )
  })
  it("a permanent refusal fails with the upstream code", () => {
    const step = afterAttempt(running, { _tag: "Failed", error: refusedForGood, lockedUntil: null }, NOW, next)
    assert.strictEqual(step._tag === "Fail" && step.error.code, "channel_title_update_not_supported")
  })
  it("a retryable error backs off; the budget store failing is retryable too", () => {
    for (const error of [serverError, new RateBudgetError({ message: "redis down" })]) {
      const step = afterAttempt(running, { _tag: "Failed", error, lockedUntil: null }, NOW, next)
      assert.strictEqual(step._tag === "Delay" && step.until, NOW + 4_000)
      assert.strictEqual(step._tag === "Delay" && step.mark, "queued")
      assert.isFalse(step._tag === "Delay" && step.needsCheck)
    }
  })
  it("an unknown outcome backs off and marks the command for a check", () => {
    const step = afterAttempt(
      given({ type: "create_chat", attempts: 1 }),
      { _tag: "Failed", error: timeout, lockedUntil: null },
      NOW,
      next
    )
    assert.strictEqual(step._tag === "Delay" && step.error?.code, "outcome_unknown")
    assert.isTrue(step._tag === "Delay" && step.needsCheck)
  })
  it("the last attempt fails instead of backing off", () => {
    const step = afterAttempt(
      given({ attempts: MAX_ATTEMPTS }),
      { _tag: "Failed", error: serverError, lockedUntil: null },
      NOW,
      next
    )
    assert.strictEqual(step._tag === "Fail" && step.error.code, "http_503")
  })
})
