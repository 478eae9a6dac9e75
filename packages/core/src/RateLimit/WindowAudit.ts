/** Most send times (epoch ms) found in any half-open interval [t, t + windowMs). */
export const maxInAnyWindow = (times: ReadonlyArray<number>, windowMs: number): number => {
  const sorted = [...times].sort((a, b) => a - b)
  let max = 0
  let end = 0
  for (let start = 0; start < sorted.length; start++) {
    while (end < sorted.length && sorted[end]! < sorted[start]! + windowMs) end++
    max = Math.max(max, end - start)
  }
  return max
}

/** Send times that made some interval [t, t + windowMs) hold more than `threshold` calls. */
export const windowViolations = (times: ReadonlyArray<number>, windowMs: number, threshold: number): number => {
  const sorted = [...times].sort((a, b) => a - b)
  let violations = 0
  let start = 0
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[start]! <= sorted[end]! - windowMs) start++
    if (end - start + 1 > threshold) violations++
  }
  return violations
}

/** Mean share of the threshold used by the windows [t, t + windowMs) that fit in [from, to), sampled every `stepMs`. */
export const meanWindowUtilisation = (
  times: ReadonlyArray<number>,
  windowMs: number,
  threshold: number,
  from: number,
  to: number,
  stepMs = 5
): number => {
  const sorted = [...times].sort((a, b) => a - b)
  let sum = 0
  let samples = 0
  let lo = 0
  let hi = 0
  for (let t = from; t + windowMs <= to; t += stepMs) {
    while (lo < sorted.length && sorted[lo]! < t) lo++
    while (hi < sorted.length && sorted[hi]! < t + windowMs) hi++
    sum += (hi - lo) / threshold
    samples++
  }
  return samples === 0 ? 0 : sum / samples
}
