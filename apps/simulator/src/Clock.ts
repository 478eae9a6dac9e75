/** Wall-clock time plus an offset that tests (and the control API) may push forward. */
export class Clock {
  private offset = 0

  now(): number {
    return Date.now() + this.offset
  }

  advance(ms: number): number {
    this.offset += Math.max(0, ms)
    return this.now()
  }

  get offsetMs(): number {
    return this.offset
  }
}
