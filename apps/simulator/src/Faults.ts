import type { OperationId } from "@cliq-mirror/core"

export type FaultKind =
  /** An HTTP status with a generic `{message}` body (or `body` when given); default 500. */
  | "status"
  /** An endpoint error code, e.g. `chat_operation_failed` (400) or `service_unavailable` (503). */
  | "error_code"
  /** Hold the socket for `holdMs`, then destroy it without answering. */
  | "timeout"
  /** 200 with a body that is not JSON. */
  | "invalid_json"
  /** 200 with valid JSON of the wrong shape. */
  | "wrong_shape"
  /** The throttle refusal (configured shape, or `shape`), without touching the real throttle state. */
  | "throttle"
  /** Destroy the connection at once (`req.socket.destroy()`). */
  | "reset"

export interface FaultSpec {
  /** Operation id, or "*" for every operation. */
  readonly operation: OperationId | "*"
  readonly kind: FaultKind
  /** "before": the state is left untouched; "after_effect": the change happens, the caller never learns it. */
  readonly when?: "before" | "after_effect"
  /** How many of the next matching calls it hits (default 1). */
  readonly count?: number
  /** Only calls made by this account. */
  readonly userIndex?: number
  readonly status?: number
  readonly code?: string
  readonly message?: string
  readonly body?: unknown
  readonly holdMs?: number
  readonly shape?: "429" | "400"
}

export interface ArmedFault extends FaultSpec {
  readonly id: number
  readonly when: "before" | "after_effect"
  remaining: number
  hits: number
}

export class Faults {
  private armed: Array<ArmedFault> = []
  private nextId = 1

  arm(spec: FaultSpec): ArmedFault {
    const fault: ArmedFault = {
      ...spec,
      id: this.nextId++,
      when: spec.when ?? "before",
      remaining: Math.max(1, spec.count ?? 1),
      hits: 0
    }
    this.armed.push(fault)
    return fault
  }

  /** Consumes one hit of the first matching fault. */
  take(operation: OperationId, userIndex: number, when: "before" | "after_effect"): ArmedFault | undefined {
    const fault = this.armed.find(
      f =>
        f.when === when &&
        f.remaining > 0 &&
        (f.operation === "*" || f.operation === operation) &&
        (f.userIndex === undefined || f.userIndex === userIndex)
    )
    if (!fault) return undefined
    fault.remaining--
    fault.hits++
    if (fault.remaining === 0) this.armed = this.armed.filter(f => f !== fault)
    return fault
  }

  list(): ReadonlyArray<ArmedFault> {
    return this.armed
  }

  clear(id?: number): number {
    const before = this.armed.length
    this.armed = id === undefined ? [] : this.armed.filter(f => f.id !== id)
    return before - this.armed.length
  }
}
