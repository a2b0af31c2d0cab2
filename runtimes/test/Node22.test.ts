/** The shared behaviour suite on Node 22 (the npm package node@22). */
import { behaviourSuite } from "./support/behaviourSuite.js"
import * as Runtimes from "./support/runtimes.js"

behaviourSuite(Runtimes.node22)
