// The whole test command: type-check and build, run every test on this Node and again on
// Node 22 (from the npm package node@22; the runtimes project once, as it starts its own
// runtimes), check the packed packages, then print the plain count line `N passed, N failed`
// that CI reads.
import { spawnSync } from "node:child_process"
import { existsSync, readFileSync, rmSync } from "node:fs"

const results = ".vitest/results.json"
const results22 = ".vitest/results-node22.json"
// Node 22 lives in the workspace's cache: installed once from the npm registry, never global.
const node22Prefix = "node_modules/.cache/node22"
const node22 = `${node22Prefix}/node_modules/.bin/node`
const run = (command, args) => spawnSync(command, args, { stdio: "inherit" }).status === 0
// The workspace's own binaries, not npx: no registry look-up, no npm warnings about pnpm's settings.
const bin = (name) => `node_modules/.bin/${name}`

rmSync(results, { force: true })
rmSync(results22, { force: true })
rmSync(".vitest/logs", { recursive: true, force: true })
const steps = []
const step = (name, ok) => {
  steps.push({ name, ok })
  if (!ok) console.error(`\n✗ ${name} failed`)
  return ok
}

const built = step("typecheck and build (tsc -b)", run(bin("tsc"), ["-b"]))
const vitestArgs = (output) => ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${output}`]
// Node 22 comes first: the runtimes project starts it as one of its runtimes.
const hasNode22 = () => existsSync(node22) && spawnSync(node22, ["--version"], { encoding: "utf8" }).stdout?.startsWith("v22.")
const node22Ready = hasNode22() ||
  (run("npm", ["install", "--no-save", "--no-audit", "--no-fund", "--prefix", node22Prefix, "node@22"]) && hasNode22())
step("Node 22 from the npm package node@22", node22Ready)
step("tests (vitest)", run(bin("vitest"), vitestArgs(results)))
if (node22Ready) {
  // The runtimes project runs once: it starts Node 22, Bun, Deno, workerd and Chromium itself,
  // whichever Node runs vitest.
  step("tests on Node 22 (vitest)", run(node22, ["node_modules/vitest/vitest.mjs", ...vitestArgs(results22), "--project", "!runtimes"]))
}
step("no secret in any captured log line", run("node", ["scripts/scan-logs.mjs"]))
if (built) step("packed packages (publint, attw, import from the tarball)", run("node", ["scripts/check-packs.mjs"]))
else step("packed packages (skipped: the build failed)", false)

let passed = 0
let failed = 0
for (const file of [results, results22]) {
  if (!existsSync(file)) continue
  const report = JSON.parse(readFileSync(file, "utf8"))
  passed += report.numPassedTests
  failed += report.numFailedTests
}
const failedSteps = steps.filter((s) => !s.ok)
if (failedSteps.length > 0) console.error(`\nfailed steps: ${failedSteps.map((s) => s.name).join("; ")}`)
// A failed step outside vitest counts as one failure, so the line never hides it; the
// counts are both runs', on this Node and on Node 22.
const vitestSteps = new Set(["tests (vitest)", "tests on Node 22 (vitest)"])
console.log(`\n${passed} passed, ${failed + failedSteps.filter((s) => !vitestSteps.has(s.name)).length} failed`)
process.exit(failedSteps.length === 0 ? 0 : 1)
