// The whole test command: type-check and build, run every test, check the packed packages,
// then print the plain count line `N passed, N failed` that CI reads.
import { spawnSync } from "node:child_process"
import { existsSync, readFileSync, rmSync } from "node:fs"

const results = ".vitest/results.json"
const run = (command, args) => spawnSync(command, args, { stdio: "inherit" }).status === 0
// The workspace's own binaries, not npx: no registry look-up, no npm warnings about pnpm's settings.
const bin = (name) => `node_modules/.bin/${name}`

rmSync(results, { force: true })
rmSync(".vitest/logs", { recursive: true, force: true })
const steps = []
const step = (name, ok) => {
  steps.push({ name, ok })
  if (!ok) console.error(`\n✗ ${name} failed`)
  return ok
}

const built = step("typecheck and build (tsc -b)", run(bin("tsc"), ["-b"]))
step("tests (vitest)", run(bin("vitest"), ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${results}`]))
step("no secret in any captured log line", run("node", ["scripts/scan-logs.mjs"]))
if (built) step("packed packages (publint, attw, import from the tarball)", run("node", ["scripts/check-packs.mjs"]))
else step("packed packages (skipped: the build failed)", false)

let passed = 0
let failed = 0
if (existsSync(results)) {
  const report = JSON.parse(readFileSync(results, "utf8"))
  passed = report.numPassedTests
  failed = report.numFailedTests
}
const failedSteps = steps.filter((s) => !s.ok)
if (failedSteps.length > 0) console.error(`\nfailed steps: ${failedSteps.map((s) => s.name).join("; ")}`)
// A failed step outside vitest counts as one failure, so the line never hides it.
console.log(`\n${passed} passed, ${failed + failedSteps.filter((s) => s.name !== "tests (vitest)").length} failed`)
process.exit(failedSteps.length === 0 ? 0 : 1)
