import type { BucketId, OperationId } from "@cliq-mirror/core"

export interface RequestLogEntry {
  readonly seq: number
  readonly atMs: number
  readonly method: string
  /** Path and query string as received. */
  readonly path: string
  readonly operationId: OperationId | "oauthToken" | "oauthRevoke" | null
  readonly bucket: BucketId | null
  readonly userIndex: number | null
  readonly userId: string | null
  /** HTTP status sent; 0 when the connection was reset or held until it died. */
  readonly status: number
  /** ok | unauthorized | forbidden | throttled | locked | not_found | method_not_allowed | fault:<kind> */
  readonly outcome: string
}

export interface Violation {
  readonly seq: number
  readonly atMs: number
  readonly bucket: BucketId
  readonly key: string
  /** "threshold": the call that crossed the threshold and opened the lock; "locked": a call refused during a lock. */
  readonly kind: "threshold" | "locked"
  readonly lockedUntilMs: number
  readonly userIndex: number
  readonly userId: string
  readonly method: string
  readonly path: string
  readonly operationId: OperationId | null
}

export class RequestLog {
  private entries: Array<RequestLogEntry> = []
  private violationList: Array<Violation> = []
  private seq = 0

  constructor(private readonly limit: number) {}

  nextSeq(): number {
    return ++this.seq
  }

  record(entry: RequestLogEntry): void {
    this.entries.push(entry)
    if (this.entries.length > this.limit) this.entries.splice(0, this.entries.length - this.limit)
  }

  violation(violation: Violation): void {
    this.violationList.push(violation)
    if (this.violationList.length > this.limit) this.violationList.splice(0, this.violationList.length - this.limit)
  }

  requests(sinceSeq = 0): ReadonlyArray<RequestLogEntry> {
    return sinceSeq > 0 ? this.entries.filter(e => e.seq > sinceSeq) : [...this.entries]
  }

  violations(sinceSeq = 0): ReadonlyArray<Violation> {
    return sinceSeq > 0 ? this.violationList.filter(v => v.seq > sinceSeq) : [...this.violationList]
  }

  reset(): void {
    this.entries = []
    this.violationList = []
  }
}
