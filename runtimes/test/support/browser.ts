/**
 * A real browser for the tests: Debian's `chromium` (installed by `.ci/run` with apt-get),
 * driven by playwright-core, and the page the browser test loads, served from a loopback
 * origin of its own. Each is a scoped resource; a browser that is missing fails the test.
 */
import { acquire, httpServer } from "@mcpgate/testing/scoped"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { accessSync, constants } from "node:fs"
import { delimiter, join } from "node:path"
import type { Browser, Page } from "playwright-core"
import { chromium as playwrightChromium } from "playwright-core"
import type { PageApi } from "../fixtures/page.js"
import { bundle, repoRoot } from "./bundle.js"

/** The `chromium` on PATH (Debian's is `/usr/bin/chromium`). */
const chromiumPath = (): string => {
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    const candidate = join(dir, "chromium")
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not in this directory
    }
  }
  throw new Error("chromium is not installed: no `chromium` on PATH (.ci/run installs Debian's with apt-get)")
}

// Headless on a machine without a display, a GPU or a user namespace for the sandbox; nothing
// reaches out to the network but the test's own loopback servers.
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

/** Chromium, closed when the scope closes. Playwright gives it a fresh profile directory of its own. */
export const chromium: Effect.Effect<Browser, never, Scope.Scope> = acquire(
  () => playwrightChromium.launch({ executablePath: chromiumPath(), args: ARGS, timeout: 30_000 }),
  (browser) => browser.close()
)

const PAGE_HTML = "<!doctype html><meta charset=\"utf-8\"><title>mcpgate</title><pre id=\"out\"></pre>" +
  "<script type=\"module\" src=\"/page.js\"></script>"

/**
 * The page (`runtimes/test/fixtures/page.ts`, bundled for the browser) served on 127.0.0.1 and a
 * free port: `/` is the page, `/page.js` its script. Yields the page's origin.
 */
export const pageOrigin: Effect.Effect<URL, never, Scope.Scope> = Effect.gen(function*() {
  const script = yield* Effect.promise(() => bundle(`${repoRoot}runtimes/test/fixtures/page.ts`, "browser"))
  const { url } = yield* httpServer((request, response) => {
    const [type, body] = request.url === "/page.js" ? ["text/javascript", script] : ["text/html; charset=utf-8", PAGE_HTML]
    response.writeHead(request.url === "/" || request.url === "/page.js" ? 200 : 404, { "content-type": type })
    response.end(body)
  })
  return url
})

/** A loaded page of `origin` in `browser`, with its script ready; closed when the scope closes. */
export interface LoadedPage {
  readonly page: Page
  /** Calls the page's API (`PageApi`) with serialisable arguments, in the page. */
  readonly call: <K extends keyof PageApi>(name: K, ...args: Parameters<PageApi[K]>) => Promise<Awaited<ReturnType<PageApi[K]>>>
  /** What the page shows in `#out`. */
  readonly shown: () => Promise<string>
}

export const openPage = (browser: Browser, origin: URL): Effect.Effect<LoadedPage, never, Scope.Scope> =>
  acquire(async () => {
    const page = await browser.newPage()
    const errors: Array<string> = []
    page.on("pageerror", (error) => errors.push(error.message))
    await page.goto(origin.href)
    await page.waitForFunction(() => "mcpPage" in globalThis, undefined, { timeout: 10_000 }).catch((error) => {
      throw new Error(`the page's script did not load: ${errors.join("; ") || String(error)}`)
    })
    const call: LoadedPage["call"] = (name, ...args) =>
      page.evaluate(
        ([name, args]) => ((globalThis as unknown as { mcpPage: Record<string, (...a: Array<unknown>) => unknown> }).mcpPage[name]!)(...args),
        [name, args] as const
      ) as never
    return { page, call, shown: async () => (await page.textContent("#out")) ?? "" }
  }, ({ page }) => page.close())
