/** The shared behaviour suite on Deno (the npm package deno). */
import { behaviourSuite } from "./support/behaviourSuite.js"
import * as Runtimes from "./support/runtimes.js"

behaviourSuite(Runtimes.deno)
