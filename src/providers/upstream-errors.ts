import { AppError, type ErrorCode } from "../errors.js";
import type { ProviderInfo } from "../core/types.js";

/**
 * Turning an upstream's refusal into a classified `AppError`: the code decides whether the router moves on
 * (`retryable`), and `metadata` keeps `provider_name`, the upstream status and its body (secrets removed, truncated)
 * for the client to inspect, as OpenRouter does.
 */

const MAX_RAW_CHARS = 2000;
const MAX_MESSAGE_CHARS = 500;
const MAX_ERROR_BODY_CHARS = 64 * 1024;

const CONTEXT_LENGTH = /context[ _-]?length|context window|maximum context|prompt is too long|too many tokens|reduce the length/i;
const CONTENT_POLICY = /content[ _-]?(policy|filter|management)|safety system|flagged|moderation/i;

export function classifyUpstreamError(
  status: number,
  rawBody: string,
  headers: Record<string, string | string[] | undefined>,
  provider: ProviderInfo,
): AppError {
  // Secrets go first, before anything is cut to length (a key straddling the cut would survive in part).
  const bodyText = sanitize(rawBody, provider);
  const parsed = parseErrorBody(bodyText);
  const signature = `${parsed.code ?? ""} ${parsed.type ?? ""} ${parsed.message ?? ""}`;
  let code: ErrorCode;
  if (status === 400 || status === 422) {
    if (CONTEXT_LENGTH.test(signature)) code = "context_length_exceeded";
    else if (CONTENT_POLICY.test(signature)) code = "content_policy_violation";
    else code = "upstream_invalid_request";
  } else if (status === 408) code = "timeout";
  else if (status === 413) code = "payload_too_large";
  else if (status === 429) code = "upstream_rate_limited";
  else if (status === 503 || status === 529) code = "provider_unavailable";
  else code = "provider_error";
  const detail = parsed.message ? parsed.message.slice(0, MAX_MESSAGE_CHARS) : `HTTP ${status}`;
  const message =
    code === "context_length_exceeded" || code === "content_policy_violation" || code === "upstream_invalid_request"
      ? detail
      : `${provider.name} returned an error: ${detail}`;
  return new AppError(code, message, {
    metadata: { provider_name: provider.name, provider_code: status, raw: bodyText.slice(0, MAX_RAW_CHARS) },
    retryAfterMs: retryAfterMs(headers),
  });
}

/**
 * An error event inside a 200 response (a JSON body, an SSE event with `error`, or `finish_reason: "error"`). Its
 * `code` may be an HTTP status (number or numeric string) or a name (`"context_length_exceeded"`); without a status,
 * a refusal of the request itself counts as a 400 so that it is classified as such, and anything else as a 502.
 */
export function classifyInBandError(error: unknown, provider: ProviderInfo): AppError {
  const body = JSON.stringify({ error });
  const details = (typeof error === "object" && error !== null ? error : { message: String(error) }) as Record<string, unknown>;
  const code = details.code;
  let status = typeof code === "number" ? code : typeof code === "string" && /^\d{3}$/.test(code) ? Number(code) : NaN;
  if (!(status >= 400 && status < 600)) {
    const signature = `${String(code ?? "")} ${String(details.type ?? "")} ${String(details.message ?? "")}`;
    const refusesRequest = CONTEXT_LENGTH.test(signature) || CONTENT_POLICY.test(signature) || details.type === "invalid_request_error";
    status = refusesRequest ? 400 : 502;
  }
  return classifyUpstreamError(status, body, {}, provider);
}

/** Anthropic's error types and the HTTP status each comes with (https://docs.anthropic.com/en/api/errors). */
const ANTHROPIC_ERROR_STATUS = new Map<string, number>(Object.entries({
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
}));

/** How Anthropic words a prompt plus `max_tokens` that do not fit, which the generic pattern does not catch. */
const ANTHROPIC_CONTEXT_LENGTH = /exceed context limit/i;

/**
 * An Anthropic refusal (`{type:"error", error:{type, message}}` with its HTTP status; 529 is "overloaded"), classified
 * as {@link classifyUpstreamError} does, and also recognising Anthropic's "input length and `max_tokens` exceed
 * context limit" as a context-length error.
 */
export function classifyAnthropicError(
  status: number,
  rawBody: string,
  headers: Record<string, string | string[] | undefined>,
  provider: ProviderInfo,
): AppError {
  const error = classifyUpstreamError(status, rawBody, headers, provider);
  if (error.code !== "upstream_invalid_request" || !ANTHROPIC_CONTEXT_LENGTH.test(error.message)) return error;
  return new AppError("context_length_exceeded", error.message, { metadata: error.metadata, retryAfterMs: error.retryAfterMs });
}

/**
 * An Anthropic `error` event inside a 200 stream (or a 200 body of type `error`): its `type` stands for the status
 * Anthropic would have answered with, so `overloaded_error` is provider_unavailable (as a 529), `rate_limit_error`
 * upstream_rate_limited, `invalid_request_error` a refusal of the request, and an unknown type a 500.
 */
export function classifyAnthropicStreamError(error: unknown, provider: ProviderInfo): AppError {
  const details = (typeof error === "object" && error !== null ? error : { type: "api_error", message: String(error) }) as Record<string, unknown>;
  const status = ANTHROPIC_ERROR_STATUS.get(String(details.type)) ?? 500;
  return classifyAnthropicError(status, JSON.stringify({ type: "error", error: details }), {}, provider);
}

/**
 * Reads the body of a refused response (up to 64 KiB: an error body is small, and one cut short is still classified by
 * what arrived) and classifies it with `classify`.
 */
export async function readRefusal(
  response: { status: number; headers: Record<string, string | string[] | undefined>; body: AsyncIterable<Uint8Array | string> },
  provider: ProviderInfo,
  classify: typeof classifyUpstreamError = classifyUpstreamError,
): Promise<AppError> {
  const decoder = new TextDecoder();
  let text = "";
  try {
    for await (const chunk of response.body) {
      text += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
      if (text.length > MAX_ERROR_BODY_CHARS) break;
    }
  } catch {
    // Classified by what arrived.
  }
  text += decoder.decode();
  return classify(response.status, text.slice(0, MAX_ERROR_BODY_CHARS), response.headers, provider);
}

/** The connection broke before the answer was complete: retryable, no upstream status. */
export function droppedMidAnswer(provider: ProviderInfo, cause: unknown): AppError {
  return new AppError("provider_error", `${provider.name} dropped the connection mid-answer.`, {
    metadata: { provider_name: provider.name, provider_code: null },
    cause,
  });
}

/** A stream that closed normally, but before the answer was complete (no end marker, no finish reason). */
export function endedBeforeComplete(provider: ProviderInfo): AppError {
  return new AppError("provider_error", `${provider.name} ended the stream before the answer was complete.`, {
    metadata: { provider_name: provider.name, provider_code: null },
  });
}

/** A 200 whose JSON body does not parse. */
export function invalidJsonAnswer(provider: ProviderInfo): AppError {
  return new AppError("provider_error", `${provider.name} returned a response that is not valid JSON.`, {
    metadata: { provider_name: provider.name, provider_code: 200 },
  });
}

/** A connection-level failure (refused, reset, DNS, TLS): retryable, no upstream status. */
export function transportError(error: unknown, provider: ProviderInfo): AppError {
  const code = (error as { code?: string })?.code ?? (error as Error)?.name ?? "unknown";
  const reason = TRANSPORT_REASONS[code] ?? `connection failed (${code})`;
  return new AppError("provider_error", `Could not reach ${provider.name}: ${reason}.`, {
    metadata: { provider_name: provider.name, provider_code: null, transport: code },
  });
}

const TRANSPORT_REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  UND_ERR_SOCKET: "connection reset",
  EPIPE: "connection reset",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host not found",
  UND_ERR_CONNECT_TIMEOUT: "connect timeout",
  ETIMEDOUT: "connect timeout",
  UND_ERR_CLOSED: "connection closed",
  CERT_HAS_EXPIRED: "TLS certificate expired",
};

/** `Retry-After` (seconds or an HTTP date) or OpenAI's `retry-after-ms`, in milliseconds. */
export function retryAfterMs(headers: Record<string, string | string[] | undefined>): number | undefined {
  const ms = first(headers["retry-after-ms"]);
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Math.ceil(Number(ms));
  const value = first(headers["retry-after"]);
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Removes the provider's key and anything that looks like an API key or bearer token from upstream text. */
function sanitize(text: string, provider: ProviderInfo): string {
  let out = text;
  if (provider.apiKey && provider.apiKey.length >= 6) out = out.split(provider.apiKey).join("[redacted]");
  return out
    .replace(/\b(sk|rk|pk)[-_][A-Za-z0-9_-]{6,}/g, "$1-[redacted]")
    .replace(/Bearer\s+[A-Za-z0-9._~+/=-]+/gi, "Bearer [redacted]");
}

function parseErrorBody(text: string): { message?: string; code?: string; type?: string } {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const error = (typeof body.error === "object" && body.error !== null ? body.error : body) as Record<string, unknown>;
    const message = typeof error.message === "string" ? error.message : typeof body.error === "string" ? body.error : undefined;
    return {
      message,
      code: error.code === undefined || error.code === null ? undefined : String(error.code),
      type: typeof error.type === "string" ? error.type : undefined,
    };
  } catch {
    const trimmed = text.trim();
    return trimmed ? { message: trimmed.slice(0, MAX_MESSAGE_CHARS) } : {};
  }
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
