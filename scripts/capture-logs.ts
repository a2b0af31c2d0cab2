/**
 * Vitest setup file: everything the suite writes through `console` (Effect's default logger
 * writes there) is also appended to `.vitest/logs/`, and the secrets the fixtures define are
 * listed beside it, so that `scripts/scan-logs.mjs` can prove no log line of the whole suite
 * holds a key, a token or a secret (contract section 8).
 */
import { afterAll } from "vitest"
import { appendFileSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { threadId } from "node:worker_threads"
import { format } from "node:util"

const root = fileURLToPath(new URL("..", import.meta.url))
const dir = join(root, ".vitest", "logs")
mkdirSync(dir, { recursive: true })
const logFile = join(dir, `output-${process.pid}-${threadId}.log`)
// Another run may clear the folder meanwhile (scripts/test.mjs does at its start).
const append = (file: string, text: string): void => {
  try {
    appendFileSync(file, text)
  } catch {
    mkdirSync(dir, { recursive: true })
    appendFileSync(file, text)
  }
}

const fixtures = [
  "packages/testing/src/apiKeys.ts",
  "packages/testing/src/tokens.ts",
  "packages/testing/src/credentials.ts",
  "packages/mcp-sdk/test/fixtures/credentials.ts"
]

const methods = ["log", "info", "warn", "error", "debug", "trace"] as const
for (const method of methods) {
  const original = console[method].bind(console)
  console[method] = (...args: Array<unknown>) => {
    append(logFile, `${format(...args)}\n`)
    original(...args)
  }
}

// Every secret the fixtures define, computed ones included: exported strings named for a key,
// secret or token. Read after the file's tests, not now: importing the fixtures before a test
// file's `vi.mock` of `node:crypto` or `jose` would load the real modules first.
afterAll(async () => {
  const secrets: Array<string> = []
  for (const fixture of fixtures) {
    const module = (await import(join(root, fixture))) as Record<string, unknown>
    for (const [name, value] of Object.entries(module)) {
      if (typeof value === "string" && /KEY|SECRET|TOKEN/.test(name) && value.length >= 16) secrets.push(value)
    }
  }
  append(join(dir, `secrets-${process.pid}-${threadId}.txt`), secrets.map((s) => `${JSON.stringify(s)}\n`).join(""))
})
