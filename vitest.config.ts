import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url))

// Projects are declared here: `vitest.workspace.ts` is deprecated from Vitest 3.2 on.
// Tests import each package by its published name; the alias points that name at the
// sources so `vitest` needs no build, while `tsc -b` checks the same imports against `dist`.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@mcpgate\/auth-core$/, replacement: source("./packages/auth-core/src/index.ts") },
      { find: /^@mcpgate\/auth-core\/(.*)$/, replacement: source("./packages/auth-core/src/$1.ts") },
      { find: /^@mcpgate\/http$/, replacement: source("./packages/http/src/index.ts") },
      { find: /^@mcpgate\/http\/(.*)$/, replacement: source("./packages/http/src/$1.ts") },
      { find: /^@mcpgate\/node$/, replacement: source("./packages/node/src/index.ts") },
      { find: /^@mcpgate\/node\/(.*)$/, replacement: source("./packages/node/src/$1.ts") },
      { find: /^@mcpgate\/mcp-sdk$/, replacement: source("./packages/mcp-sdk/src/index.ts") },
      { find: /^@mcpgate\/mcp-sdk\/(.*)$/, replacement: source("./packages/mcp-sdk/src/$1.ts") },
      { find: /^@mcpgate\/redis$/, replacement: source("./packages/redis/src/index.ts") },
      { find: /^@mcpgate\/redis\/(.*)$/, replacement: source("./packages/redis/src/$1.ts") },
      { find: /^@mcpgate\/hono$/, replacement: source("./packages/hono/src/index.ts") },
      { find: /^@mcpgate\/hono\/(.*)$/, replacement: source("./packages/hono/src/$1.ts") },
      { find: /^@mcpgate\/express$/, replacement: source("./packages/express/src/index.ts") },
      { find: /^@mcpgate\/express\/(.*)$/, replacement: source("./packages/express/src/$1.ts") },
      { find: /^@mcpgate\/testing\/(.*)$/, replacement: source("./packages/testing/src/$1.ts") }
    ]
  },
  test: {
    // Tees console output to .vitest/logs for the secret scan of scripts/scan-logs.mjs.
    setupFiles: [source("./scripts/capture-logs.ts")],
    projects: [
      {
        extends: true,
        test: {
          name: "layout",
          root: ".",
          include: ["scripts/**/*.test.ts"]
        }
      },
      {
        extends: true,
        test: {
          name: "auth-core",
          root: "packages/auth-core",
          include: ["test/**/*.test.ts"]
        }
      },
      {
        extends: true,
        test: {
          name: "http",
          root: "packages/http",
          include: ["test/**/*.test.ts"]
        }
      },
      {
        extends: true,
        test: {
          name: "node",
          root: "packages/node",
          include: ["test/**/*.test.ts"]
        }
      },
      {
        extends: true,
        test: {
          name: "mcp-sdk",
          root: "packages/mcp-sdk",
          include: ["test/**/*.test.ts"]
        }
      },
      {
        extends: true,
        test: {
          name: "redis",
          root: "packages/redis",
          include: ["test/**/*.test.ts"]
        }
      },
      {
        extends: true,
        test: {
          name: "hono",
          root: "packages/hono",
          include: ["test/**/*.test.ts"]
        }
      },
      {
        extends: true,
        test: {
          name: "express",
          root: "packages/express",
          include: ["test/**/*.test.ts"]
        }
      },
      {
        extends: true,
        test: {
          // The shared behaviour suite against real runtimes (Bun, Deno, workerd, Node 22)
          // and a real browser: everything started by the tests from the project's own files.
          name: "runtimes",
          root: "runtimes",
          include: ["test/**/*.test.ts"]
        }
      }
    ]
  }
})
