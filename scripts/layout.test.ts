/**
 * The shape of the code base, as docs/design.md ("The packages") states it, checked so that it
 * stays true: dependencies point inward only, no module imports itself through a circle, no
 * source file outgrows one sitting's read, and comments cite only what is in the repository.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const ROOT = fileURLToPath(new URL("..", import.meta.url))

/** What each package's sources may import of the others: inward only. */
const ALLOWED: Readonly<Record<string, ReadonlyArray<string>>> = {
  "auth-core": [],
  http: ["auth-core"],
  node: ["auth-core", "http"],
  "mcp-sdk": ["auth-core", "http", "node"],
  redis: ["auth-core", "http"],
  hono: ["auth-core", "http"],
  express: ["auth-core", "http", "node"]
}

const MAX_LINES = 300

const sourcesOf = (dir: string): ReadonlyArray<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourcesOf(path.join(dir, entry.name))
      : entry.name.endsWith(".ts")
      ? [path.join(dir, entry.name)]
      : []
  )

const packages = Object.keys(ALLOWED)
const sources = packages.flatMap((name) => sourcesOf(path.join(ROOT, "packages", name, "src")).map((file) => ({ name, file })))

/** Every module specifier a file imports or re-exports, type-only imports included. */
const specifiersOf = (text: string): ReadonlyArray<string> =>
  [...text.matchAll(/^\s*(?:import|export)\b[^;"']*?from\s*["']([^"']+)["']/gm)].map((match) => match[1]!)

const relative = (file: string) => path.relative(ROOT, file)

describe("the layout of the packages", () => {
  it("finds the sources of every package", () => {
    for (const name of packages) expect(sources.filter((source) => source.name === name).length).toBeGreaterThan(0)
  })

  it("dependencies point inward: a package imports only the packages beneath it", () => {
    const outward = sources.flatMap(({ file, name }) =>
      specifiersOf(fs.readFileSync(file, "utf8"))
        .filter((specifier) => specifier.startsWith("@mcpgate/"))
        .map((specifier) => specifier.split("/")[1]!)
        .filter((imported) => imported !== name && !ALLOWED[name]!.includes(imported))
        .map((imported) => `${relative(file)} imports @mcpgate/${imported}`)
    )
    expect(outward).toStrictEqual([])
  })

  it("no module imports itself through a circle of relative imports", () => {
    const graph = new Map<string, ReadonlyArray<string>>()
    for (const { file } of sources) {
      const targets = specifiersOf(fs.readFileSync(file, "utf8"))
        .filter((specifier) => specifier.startsWith("."))
        .map((specifier) => path.resolve(path.dirname(file), specifier.replace(/\.js$/, ".ts")))
      graph.set(file, targets)
    }
    const circles: Array<string> = []
    const state = new Map<string, "open" | "done">()
    const visit = (file: string, trail: ReadonlyArray<string>) => {
      if (state.get(file) === "done") return
      if (state.get(file) === "open") {
        circles.push([...trail.slice(trail.indexOf(file)), file].map(relative).join(" -> "))
        return
      }
      state.set(file, "open")
      for (const target of graph.get(file) ?? []) visit(target, [...trail, file])
      state.set(file, "done")
    }
    for (const file of graph.keys()) visit(file, [])
    expect(circles).toStrictEqual([])
  })

  it(`no source file is longer than ${MAX_LINES} lines`, () => {
    const long = sources
      .map(({ file }) => ({ file: relative(file), lines: fs.readFileSync(file, "utf8").split("\n").length - 1 }))
      .filter(({ lines }) => lines > MAX_LINES)
    expect(long).toStrictEqual([])
  })

  it("comments cite only documents in the repository", () => {
    const foreign = sources
      .filter(({ file }) => /contract section \d/.test(fs.readFileSync(file, "utf8")))
      .map(({ file }) => relative(file))
    expect(foreign).toStrictEqual([])
  })

  it("every docs/behaviour.md anchor a source cites exists", () => {
    const behaviour = fs.readFileSync(path.join(ROOT, "docs", "behaviour.md"), "utf8")
    const anchors = new Set(
      [...behaviour.matchAll(/^#{2,3} (.+)$/gm)].map((match) =>
        match[1]!.trim().toLowerCase().replace(/[^a-z0-9 -]/g, "").replace(/ /g, "-")
      )
    )
    const missing = sources.flatMap(({ file }) =>
      [...fs.readFileSync(file, "utf8").matchAll(/docs\/behaviour\.md#([a-z0-9-]+)/g)]
        .map((match) => match[1]!)
        .filter((anchor) => !anchors.has(anchor))
        .map((anchor) => `${relative(file)}: #${anchor}`)
    )
    expect(missing).toStrictEqual([])
  })

  it("no @since names a version above the package's own", () => {
    const ahead = sources.flatMap(({ file, name }) => {
      const version = JSON.parse(fs.readFileSync(path.join(ROOT, "packages", name, "package.json"), "utf8")).version as string
      return [...fs.readFileSync(file, "utf8").matchAll(/@since (\d+\.\d+\.\d+)/g)]
        .filter((match) => match[1]!.localeCompare(version, undefined, { numeric: true }) > 0)
        .map((match) => `${relative(file)}: @since ${match[1]}`)
    })
    expect([...new Set(ahead)]).toStrictEqual([])
  })
})
