// Reads what the suite logged (captured by scripts/capture-logs.ts) and fails when any line
// holds a secret the fixtures define, or anything shaped like a JWT. Fails too when nothing
// was captured: a scan of nothing proves nothing.
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

const dir = ".vitest/logs"
if (!existsSync(dir)) {
  console.error("no captured logs in .vitest/logs: was scripts/capture-logs.ts loaded?")
  process.exit(1)
}
const files = readdirSync(dir)
const secrets = new Set(
  files.filter((f) => f.startsWith("secrets-")).flatMap((f) =>
    readFileSync(join(dir, f), "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line))
  )
)
const JWT = /eyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]+/
let lines = 0
let failures = 0
let warnings = 0
const leaks = []
for (const file of files.filter((f) => f.startsWith("output-"))) {
  for (const line of readFileSync(join(dir, file), "utf8").split("\n")) {
    lines++
    if (line.includes("authentication failed")) failures++
    if (line.includes("level=WARN")) warnings++
    for (const secret of secrets) if (line.includes(secret)) leaks.push(`${file}: a fixture secret (${secret.length} characters)`)
    if (JWT.test(line)) leaks.push(`${file}: a JWT-shaped string`)
  }
}
if (secrets.size === 0 || failures === 0) {
  console.error(`the capture looks empty (${secrets.size} secrets, ${failures} failure lines): nothing was proven`)
  process.exit(1)
}
if (leaks.length > 0) {
  console.error(`secrets in captured logs:\n  ${leaks.slice(0, 20).join("\n  ")}`)
  process.exit(1)
}
console.log(`log scan: ${lines} captured lines (${failures} authentication failures, ${warnings} warnings) hold none of ${secrets.size} secrets and no JWT`)
