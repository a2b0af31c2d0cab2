// Checks each package as it would be published: lint the packed tarball (publint), check
// its types resolve for ESM consumers (are-the-types-wrong), then unpack it outside the
// workspace and import it with plain Node, its dependencies linked from the workspace.
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

const root = resolve(import.meta.dirname, "..")
const sh = (command, args, options = {}) => execFileSync(command, args, { stdio: "inherit", ...options })
const bin = (name) => join(root, "node_modules", ".bin", name)

for (const dir of readdirSync(join(root, "packages"))) {
  const packageDir = join(root, "packages", dir)
  const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8"))
  // The tests' own package (`@mcpgate/testing`) is never published.
  if (manifest.private) continue
  console.log(`\n== ${manifest.name}`)
  sh(bin("publint"), ["--strict", packageDir])
  sh(bin("attw"), ["--pack", packageDir, "--profile", "esm-only", "--format", "ascii"])

  const scratch = mkdtempSync(join(tmpdir(), "mcpgate-pack-"))
  try {
    sh("pnpm", ["pack", "--pack-destination", scratch], { cwd: packageDir, stdio: "ignore" })
    const tarball = readdirSync(scratch).find((file) => file.endsWith(".tgz"))
    const installed = join(scratch, "node_modules", ...manifest.name.split("/"))
    mkdirSync(installed, { recursive: true })
    sh("tar", ["-xzf", join(scratch, tarball), "-C", installed, "--strip-components=1"])
    for (const dependency of Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies })) {
      const target = join(scratch, "node_modules", ...dependency.split("/"))
      mkdirSync(join(target, ".."), { recursive: true })
      symlinkSync(join(packageDir, "node_modules", ...dependency.split("/")), target)
    }
    // The main entry and every public module of `dist` (`<name>/<Module>`) must load.
    const modules = readdirSync(join(installed, "dist"))
      .filter((file) => file.endsWith(".js") && file !== "index.js")
      .map((file) => `${manifest.name}/${file.slice(0, -3)}`)
    const probe = `for (const name of ${JSON.stringify([manifest.name, ...modules])}) { ` +
      `const m = await import(name); if (Object.keys(m).length === 0) throw new Error("no exports in " + name) } ` +
      `const names = Object.keys(await import(${JSON.stringify(manifest.name)})); ` +
      `console.log("imported from the tarball: " + names.join(", ") + " and ${modules.length} modules")`
    sh("node", ["--input-type=module", "-e", probe], { cwd: scratch })
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}
