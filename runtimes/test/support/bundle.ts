/**
 * One file for a runtime that takes one file: esbuild bundles an entry from the workspace's
 * sources (`@mcpgate/<package>[/<module>]` read from `packages/<package>/src`, as the vitest
 * aliases do), so that these tests need no build and always run the code under test. Each
 * runtime gets the export conditions its own resolver would pick (the MCP SDKs ship shims per
 * runtime under `workerd`, `browser` and `node`).
 */
import * as esbuild from "esbuild"
import { fileURLToPath } from "node:url"

/** The repository root. */
export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url))

/** Where a bundle runs: a server runtime, or a page in the browser. */
export type Target = "node" | "bun" | "deno" | "workerd" | "browser"

/**
 * `@mcpgate/<package>` and `@mcpgate/<package>/<module>`, pointed at the package's sources;
 * `mcpgate:server`, which a runtime's host script imports, pointed at the server entry.
 */
const workspaceSources = (serverEntry: string | undefined): esbuild.Plugin => ({
  name: "mcpgate-sources",
  setup(build) {
    build.onResolve({ filter: /^@mcpgate\/[^/]+(\/.+)?$/ }, ({ path }) => {
      const [, name, module] = /^@mcpgate\/([^/]+)(?:\/(.+))?$/.exec(path)!
      return { path: `${repoRoot}packages/${name}/src/${module ?? "index"}.ts` }
    })
    build.onResolve({ filter: /^mcpgate:server$/ }, () =>
      serverEntry === undefined ? { errors: [{ text: "no server entry given for mcpgate:server" }] } : { path: serverEntry })
  }
})

// CommonJS dependencies call `require`, which an ES module bundle has only when given one.
const nodeRequire = "import { createRequire as __mcpgateRequire } from \"node:module\";\n" +
  "const require = __mcpgateRequire(import.meta.url);"

const optionsFor = (target: Target): esbuild.BuildOptions => {
  switch (target) {
    case "node":
      return { platform: "node", banner: { js: nodeRequire } }
    case "bun":
      return { platform: "node", conditions: ["bun"], banner: { js: nodeRequire } }
    case "deno":
      return { platform: "node", conditions: ["deno"], banner: { js: nodeRequire } }
    case "workerd":
      // What wrangler picks for a Worker; `node:*` is left to the runtime, which has the
      // modules only with `nodejs_compat`.
      return {
        platform: "neutral",
        conditions: ["workerd", "worker", "browser"],
        mainFields: ["browser", "module", "main"],
        external: ["node:*"]
      }
    case "browser":
      return { platform: "browser" }
  }
}

/**
 * The entry (a path) bundled for `target` as one ES module's text, with `serverEntry` as the
 * module `mcpgate:server`. Fails on any build error.
 */
export const bundle = async (entry: string, target: Target, serverEntry?: string): Promise<string> => {
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: "esm",
    target: "es2022",
    logLevel: "silent",
    plugins: [workspaceSources(serverEntry)],
    ...optionsFor(target)
  })
  const [output] = result.outputFiles ?? []
  if (output === undefined) throw new Error(`esbuild wrote nothing for ${entry}`)
  return output.text
}
