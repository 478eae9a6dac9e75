import { setFlagsFromString } from "node:v8"
import { Effect, Layer } from "effect"
import { HeapGrowthPercent } from "./Config.js"

/** The V8 flag a `HEAP_GROWTH_PERCENT` value stands for; none for 0 (V8's own growth, up to several times the live heap). */
export const heapGrowthFlag = (percent: number): string | undefined =>
  percent === 0 ? undefined : `--heap-growing-percent=${percent}`

/**
 * Lets the heap grow to (1 + HEAP_GROWTH_PERCENT/100) × what survived the last full collection, instead of V8's own
 * factor (up to 4×, as the allocation rate pushes it): the daemon's heap is mostly short-lived pages and answers, so
 * left alone it grows to 3–4 times its live set. V8 reads the flag at every full collection, so setting it at start
 * covers the whole run. README, Sizing: the resident size and the CPU it costs.
 */
export const HeapGrowthLive = Layer.effectDiscard(
  Effect.gen(function* () {
    const flag = heapGrowthFlag(yield* HeapGrowthPercent)
    if (flag !== undefined) setFlagsFromString(flag)
  })
)
