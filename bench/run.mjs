// Runs every benchmark, one after another so none competes with another for the CPU, and
// writes bench/RESULTS.md: the machine, the versions compared, and each script's section.
//
//   pnpm bench                      (builds first, then runs this)
//   node bench/run.mjs per-call     (only the scripts named; prints, leaves RESULTS.md alone)
//
// Each script prints its progress to stderr, which passes through, and one Markdown section
// to stdout, which is collected here.
import { execFileSync, spawn } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import os from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))

/** The scripts, in the order they run, with the Node flags each needs. */
const SCRIPTS = [
  { name: "per-call", flags: [] },
  { name: "introspection", flags: [] },
  { name: "http", flags: [] },
  { name: "fetch", flags: [] },
  { name: "memory", flags: ["--expose-gc"] },
  { name: "rate-limit", flags: ["--expose-gc"] }
]

const runScript = ({ name, flags }) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...flags, join(here, `${name}.mjs`)], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let section = ""
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (text) => (section += text))
    child.on("error", reject)
    child.on("exit", (code) =>
      code === 0 ? resolve(section.trim()) : reject(new Error(`bench/${name}.mjs exited with ${code}`)))
  })

const versionOf = (pkg) => JSON.parse(readFileSync(join(here, "node_modules", pkg, "package.json"), "utf8")).version

const commitOf = () => {
  try {
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: here, encoding: "utf8" }).trim()
    const dirty = execFileSync("git", ["status", "--porcelain"], { cwd: here, encoding: "utf8" }).trim() !== ""
    return dirty ? `${commit} with uncommitted changes` : commit
  } catch {
    return "unknown (not a git checkout)"
  }
}

const header = () => {
  const cpus = os.cpus()
  return [
    "# Benchmark results",
    "",
    "Made by `pnpm bench` (bench/run.mjs); run it again to reproduce. Each comparison runs its sides in the same",
    "process or the same run, in alternating rounds after a warm-up, and reports medians; the ratios are the figures",
    "to compare across machines, not the microseconds.",
    "",
    `- Date: ${new Date().toISOString().slice(0, 10)}`,
    `- Machine: ${cpus.length} × ${cpus[0]?.model.trim() ?? "unknown CPU"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}`,
    `- Node ${process.version}; mcpgate at ${commitOf()}`,
    `- Compared: mcp-framework ${versionOf("mcp-framework")}, jose ${versionOf("jose")}, @modelcontextprotocol/sdk ${versionOf("@modelcontextprotocol/sdk")}, @modelcontextprotocol/server ${versionOf("@modelcontextprotocol/server")}; load from autocannon ${versionOf("autocannon")}`
  ].join("\n")
}

/** Every target line of every section, so the summary cannot disagree with the sections. */
const targetsOf = (sections) => sections.flatMap((section) => section.split("\n").filter((line) => /^- (✅|❌)/.test(line)))

const wanted = process.argv.slice(2)
const unknown = wanted.filter((name) => !SCRIPTS.some((script) => script.name === name))
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(", ")}; there are ${SCRIPTS.map((s) => s.name).join(", ")}`)
  process.exit(2)
}
const chosen = wanted.length === 0 ? SCRIPTS : SCRIPTS.filter((script) => wanted.includes(script.name))
const sections = []
for (const script of chosen) {
  console.error(`\n▶ bench/${script.name}.mjs`)
  sections.push(await runScript(script))
}
const targets = targetsOf(sections)
const report = [
  header(),
  targets.length > 0 ? `## Targets\n\n${targets.join("\n")}` : "",
  ...sections
].filter((part) => part !== "").join("\n\n") + "\n"

if (wanted.length === 0) {
  writeFileSync(join(here, "RESULTS.md"), report)
  console.error("\nwrote bench/RESULTS.md")
} else {
  process.stdout.write(report)
}
