/** The shared behaviour suite on Bun (the npm package bun). */
import { behaviourSuite } from "./support/behaviourSuite.js"
import * as Runtimes from "./support/runtimes.js"

behaviourSuite(Runtimes.bun)
