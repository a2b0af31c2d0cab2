/**
 * The shape check of a posted JSON-RPC 2.0 message (or batch), before it reaches the SDK:
 * anything else is the 400 of docs/behaviour.md#answers, never an exception in the server.
 */

/** A JSON-RPC message as the SDK's `Transport` carries it. */
export type JsonRpcMessage = Readonly<Record<string, unknown>> & { readonly jsonrpc: "2.0" }

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const isId = (value: unknown): boolean =>
  typeof value === "string" || (typeof value === "number" && Number.isFinite(value))

const isMessage = (value: unknown): value is JsonRpcMessage => {
  if (!isObject(value) || value["jsonrpc"] !== "2.0") return false
  if ("method" in value) {
    const params = value["params"]
    return typeof value["method"] === "string" &&
      (!("id" in value) || isId(value["id"])) &&
      (params === undefined || isObject(params) || Array.isArray(params))
  }
  if (!isId(value["id"])) return false
  if ("result" in value) return !("error" in value)
  const error = value["error"]
  return isObject(error) && Number.isInteger(error["code"]) && typeof error["message"] === "string"
}

/**
 * The messages of a body: one message, or a non-empty batch of them (JSON-RPC 2.0 and
 * MCP 2024-11-05 allow batches). Undefined when the text is not such JSON.
 */
export const parseMessages = (text: string): ReadonlyArray<JsonRpcMessage> | undefined => {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return undefined
  }
  if (Array.isArray(parsed)) return parsed.length > 0 && parsed.every(isMessage) ? parsed : undefined
  return isMessage(parsed) ? [parsed] : undefined
}
