/**
 * Servers, clients and streams as scoped resources: a test written with `it.scoped` (or
 * `it.scopedLive`, for real sockets, timers and tokens) acquires what it needs, and its
 * scope releases all of it when the test ends, last acquired first, passed or failed. No
 * test keeps a list of cleanups by hand.
 */
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

/**
 * A start/close pair as a scoped resource: `start` runs when the resource is acquired,
 * `close` when its scope closes. A failure to close is a defect of the test.
 */
export const acquire = <A>(
  start: () => Promise<A> | A,
  close: (resource: A) => Promise<unknown> | unknown
): Effect.Effect<A, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => start()),
    (resource) => Effect.promise(async () => close(resource))
  )

/** Acquires a scoped resource into the test's scope from inside an `async` part of the test. */
export type Use = <A, E>(resource: Effect.Effect<A, E, Scope.Scope>) => Promise<A>

/**
 * The `async` body of a test, run in the test's scope: `use` acquires a scoped resource
 * (a server, a client) into that scope, so it is released when the test ends.
 *
 *     it.scopedLive("...", () => inScope(async (use) => {
 *       const server = await use(serve(options))
 *       ...
 *     }))
 */
export const inScope = <A>(body: (use: Use) => Promise<A>): Effect.Effect<A, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const runtime = yield* Effect.runtime<never>()
    const use: Use = (resource) => Runtime.runPromise(runtime)(Scope.extend(resource, scope))
    return yield* Effect.promise(() => body(use))
  })

/**
 * A scope of its own inside the current one, as a `Use` that acquires into it: it closes
 * with the current scope, but at the point where it was made, so what is acquired into it
 * is released after everything the current scope acquires from then on. For a server whose
 * clients must close only once it has stopped: make this scope, start the server, then
 * connect the clients into this scope.
 */
export const nestedScope: Effect.Effect<Use, never, Scope.Scope> = Effect.gen(function*() {
  const inner = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
  const runtime = yield* Effect.runtime<never>()
  return (resource) => Runtime.runPromise(runtime)(Scope.extend(resource, inner))
})

/** A `node:http` server of one's own, listening on 127.0.0.1 and a free port. */
export interface Listening {
  readonly server: http.Server
  /** The base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: URL
}

/**
 * A `node:http` server with `handler` on 127.0.0.1 and a free port, as a scoped resource:
 * its connections are cut and it is closed when the scope closes.
 */
export const httpServer = (handler: http.RequestListener): Effect.Effect<Listening, never, Scope.Scope> =>
  acquire(
    async () => {
      const server = http.createServer(handler)
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
      return { server, url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`) }
    },
    ({ server }) => {
      server.closeAllConnections()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    }
  )

/** Runs `close` when the scope closes: for what a test starts in several steps before it can be closed. */
export const onClose = (close: () => Promise<unknown> | unknown): Effect.Effect<void, never, Scope.Scope> =>
  Effect.addFinalizer(() => Effect.promise(async () => close()))
