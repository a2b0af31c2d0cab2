/**
 * `@mcpgate/http` runs wherever Fetch does (Bun, Deno, Workers, browsers), so none of its
 * modules may import a Node built-in, directly or through a bare name (`"crypto"`), nor lean
 * on Node's globals. This test fails the build when one does (docs/design.md, "The packages").
 */
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import { builtinModules } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const SOURCE = fileURLToPath(new URL("../src", import.meta.url))

const sources = (dir: string): ReadonlyArray<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(path.join(dir, entry.name))
      : entry.name.endsWith(".ts")
      ? [path.join(dir, entry.name)]
      : []
  )

const NODE_BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]))

/** Every module specifier a source imports or re-exports, `import("...")` included. */
const specifiersOf = (text: string): ReadonlyArray<string> =>
  [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^"'`;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|(?:^|\n)\s*import\s*["']([^"']+)["']/g)]
    .map((match) => match[1] ?? match[2] ?? match[3]!)

describe("@mcpgate/http is runtime-neutral", () => {
  const files = sources(SOURCE)

  it("has sources to check", () => {
    expect(files.length).toBeGreaterThan(10)
  })

  it.each(files.map((file) => [path.relative(SOURCE, file), file] as const))("%s imports no Node built-in", (_name, file) => {
    const text = fs.readFileSync(file, "utf8")
    const builtins = specifiersOf(text).filter((specifier) => NODE_BUILTINS.has(specifier))
    expect(builtins).toStrictEqual([])
  })

  it.each(files.map((file) => [path.relative(SOURCE, file), file] as const))("%s uses none of Node's globals", (_name, file) => {
    // Comments may name them; code may not.
    const code = fs.readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "")
    expect(code.match(/\b(?:Buffer|process|__dirname|__filename|require)\s*[.(]/g) ?? []).toStrictEqual([])
  })

  it("the check itself sees a Node import", () => {
    expect(specifiersOf(`import { hash } from "node:crypto"\nimport type * as http from "http"`)).toStrictEqual([
      "node:crypto",
      "http"
    ])
    expect(specifiersOf(`const m = await import("node:fs")`)).toStrictEqual(["node:fs"])
  })
})
