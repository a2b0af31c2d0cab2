/**
 * The shared behaviour suite on workerd (through miniflare): with `nodejs_compat`, and without
 * it, where a Worker has the Web APIs only.
 */
import { behaviourSuite } from "./support/behaviourSuite.js"
import * as Runtimes from "./support/runtimes.js"

behaviourSuite(Runtimes.workerd(true))
behaviourSuite(Runtimes.workerd(false))
