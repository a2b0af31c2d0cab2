/**
 * Imported by `frameworkServer.ts` before mcp-framework, whose `Logger` is a singleton made
 * when its module loads. Whatever the environment of the run: no log files (with
 * `MCP_ENABLE_FILE_LOGGING=true` it writes `./logs/mcp-server-*.log` under the working
 * directory, the repository here), and no debug lines on stderr (`MCP_DEBUG_CONSOLE=true`;
 * at that level mcp-framework's own API-key provider prints every request header). The test
 * that wants debug lines turns them on for its own scope.
 */
process.env["MCP_ENABLE_FILE_LOGGING"] = "false"
process.env["MCP_DEBUG_CONSOLE"] = "false"
