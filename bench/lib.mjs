// What every benchmark script shares: interleaved rounds, medians, and the Markdown it prints.
//
// A script prints its progress to stderr and, last, one Markdown section to stdout; `run.mjs`
// puts the sections together into RESULTS.md. Sides of one comparison always run in the same
// process, in alternating rounds after a warm-up, so the machine's noise falls on both alike
// and the ratio is the figure to read.

/** The middle value (the lower middle for an even count). */
export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)]
}

/** The p-th percentile (0..100) by nearest rank. */
export const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

/** Progress for the person watching; never part of the results. */
export const progress = (...parts) => console.error(...parts)

/**
 * Times each side's `run()` (sync or async, awaited either way so every side goes through the
 * same loop) for `iterations` calls a round, the sides taking turns within each round, after
 * `warmup` untimed rounds. Returns, per side, the median of its rounds in microseconds a call.
 */
export const perCall = async (sides, { iterations, rounds = 9, warmup = 2 }) => {
  const names = Object.keys(sides)
  const samples = Object.fromEntries(names.map((name) => [name, []]))
  for (let round = 0; round < warmup + rounds; round++) {
    // Rotate who goes first, so no side always runs right after the same other side.
    const order = names.map((_, i) => names[(i + round) % names.length])
    for (const name of order) {
      const run = sides[name]
      const start = process.hrtime.bigint()
      for (let i = 0; i < iterations; i++) await run()
      const micros = Number(process.hrtime.bigint() - start) / 1000 / iterations
      if (round >= warmup) samples[name].push(micros)
    }
  }
  return Object.fromEntries(names.map((name) => [name, median(samples[name])]))
}

/** A Markdown table; cells are printed as given. */
export const table = (headers, rows) =>
  [
    `| ${headers.join(" | ")} |`,
    `| ${headers.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`)
  ].join("\n")

/** Formats microseconds with enough digits to compare. */
export const micros = (value) => (value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0))

/** Formats a ratio. */
export const ratio = (value) => `${value.toFixed(2)}x`

/** Formats bytes as MB (10^6). */
export const megabytes = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`

/** A target line: what was asked, what was measured, and whether it holds. */
export const target = (text, holds, measured) => `- ${holds ? "✅ met" : "❌ missed"}: ${text} (measured ${measured})`

/** Prints the script's section: the one thing it writes to stdout. */
export const printSection = (title, ...blocks) => {
  process.stdout.write(`## ${title}\n\n${blocks.filter((block) => block !== undefined && block !== "").join("\n\n")}\n`)
}
