/**
 * `@mcpgate/mcp-sdk/McpFetchHandler` and `@mcpgate/mcp-sdk/WithMcpAuth` are imported by
 * Workers without `nodejs_compat` and by browsers, so nothing they import, directly or
 * through this package's and `@mcpgate/http`'s modules, may be a Node built-in or
 * `@mcpgate/node` (docs/design.md, "The packages"). `@mcpgate/auth-core` is followed no
 * further: its own move off `node:crypto` is checked where it is made.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import { builtinModules } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const PACKAGES = fileURLToPath(new URL("../../..", import.meta.url))
const NODE_BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]))
/** The packages whose sources are followed, by the name they are imported under. */
const FOLLOWED: Readonly<Record<string, string>> = { "@mcpgate/http": "http", "@mcpgate/mcp-sdk": "mcp-sdk" }

/** Every module specifier a source imports or re-exports, `import("...")` included. */
const specifiersOf = (text: string): ReadonlyArray<string> =>
  [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^"'`;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|(?:^|\n)\s*import\s*["']([^"']+)["']/g)]
    .map((match) => match[1] ?? match[2] ?? match[3]!)

/** The source file a specifier names, when it is one of the followed packages' own; else undefined. */
const resolve = (from: string, specifier: string): string | undefined => {
  if (specifier.startsWith(".")) return path.resolve(path.dirname(from), specifier.replace(/\.js$/, ".ts"))
  for (const [name, dir] of Object.entries(FOLLOWED)) {
    if (specifier === name) return path.join(PACKAGES, dir, "src", "index.ts")
    if (specifier.startsWith(`${name}/`)) return path.join(PACKAGES, dir, "src", `${specifier.slice(name.length + 1)}.ts`)
  }
  return undefined
}

/** Every module reached from `entry`, with what each imports from outside the followed sources. */
const graphOf = (entry: string) => {
  const seen = new Set<string>()
  const outside: Array<{ readonly file: string; readonly specifier: string }> = []
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    for (const specifier of specifiersOf(fs.readFileSync(file, "utf8"))) {
      const next = resolve(file, specifier)
      if (next === undefined) outside.push({ file: path.relative(PACKAGES, file), specifier })
      else visit(next)
    }
  }
  visit(entry)
  return { files: [...seen].map((file) => path.relative(PACKAGES, file)), outside }
}

describe("the Fetch entries of @mcpgate/mcp-sdk import nothing of Node", () => {
  it.each(["McpFetchHandler", "WithMcpAuth"])("%s", (entry) => {
    const { files, outside } = graphOf(path.join(PACKAGES, "mcp-sdk", "src", `${entry}.ts`))
    expect(files).toContain(path.join("http", "src", "Fetch.ts"))
    expect(outside.filter(({ specifier }) => NODE_BUILTINS.has(specifier) || specifier.startsWith("@mcpgate/node"))).toStrictEqual([])
    // Only these packages are reached from outside the followed sources.
    expect([...new Set(outside.map(({ specifier }) => specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/")))].sort())
      .toStrictEqual(["@mcpgate/auth-core", "@modelcontextprotocol/server", "effect"])
  })

  it("@mcpgate/hono, likewise", () => {
    const { outside } = graphOf(path.join(PACKAGES, "hono", "src", "index.ts"))
    expect(outside.filter(({ specifier }) => NODE_BUILTINS.has(specifier) || specifier.startsWith("@mcpgate/node"))).toStrictEqual([])
    expect([...new Set(outside.map(({ specifier }) => specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/")))].sort())
      .toStrictEqual(["@mcpgate/auth-core", "effect", "hono"])
  })

  it("the check itself sees a Node import and @mcpgate/node through the package's own modules", () => {
    const { outside } = graphOf(path.join(PACKAGES, "mcp-sdk", "src", "StreamableHttp.ts"))
    expect(outside.some(({ specifier }) => specifier === "node:crypto")).toBe(true)
    expect(outside.some(({ specifier }) => specifier === "@mcpgate/node")).toBe(true)
  })
})
