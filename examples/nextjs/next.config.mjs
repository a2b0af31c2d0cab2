/** @type {import("next").NextConfig} */
export default {
  // The workspace packages are ESM with `dist` builds; Next bundles them as any dependency.
  // The SDK loads lazily on the first request, which Next must not try to pre-render.
  serverExternalPackages: ["@modelcontextprotocol/server"]
}
