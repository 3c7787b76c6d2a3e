/**
 * The one error registry. Every failure that crosses a module boundary is an {@link AppError} carrying one of these codes;
 * the REST shim renders it as an OpenAI/OpenRouter-shaped body, the GraphQL API as a `GraphQLError` with
 * `extensions.code`. A plain `Error` reaching a front door is a bug and is rendered as `internal` (500) without its message.
 *
 * Fields:
 * - `status`: HTTP status on REST (also `error.code` in the body, as OpenRouter does).
 * - `type`: the OpenAI-style `error.type` string that OpenAI SDKs surface.
 * - `graphql`: the literal `extensions.code` on GraphQL.
 * - `retryable`: whether the router may try another endpoint after an upstream failure of this kind. Only meaningful for
 *   errors that come from an attempt; request errors are never retried.
 * - `message`: the default client-facing message.
 */
export const ERROR_CODES = {
  invalid_request: {
    status: 400,
    type: "invalid_request_error",
    graphql: "BAD_USER_INPUT",
    retryable: false,
    message: "The request is invalid.",
  },
  unauthenticated: {
    status: 401,
    type: "authentication_error",
    graphql: "UNAUTHENTICATED",
    retryable: false,
    message: "No auth credentials found.",
  },
  payment_required: {
    status: 402,
    type: "insufficient_quota",
    graphql: "PAYMENT_REQUIRED",
    retryable: false,
    message: "Insufficient credits.",
  },
  forbidden: {
    status: 403,
    type: "permission_error",
    graphql: "FORBIDDEN",
    retryable: false,
    message: "This credential may not perform this action.",
  },
  moderation_flagged: {
    status: 403,
    type: "content_policy_violation",
    graphql: "FORBIDDEN",
    retryable: false,
    message: "The input was flagged by moderation.",
  },
  not_found: {
    status: 404,
    type: "not_found_error",
    graphql: "NOT_FOUND",
    retryable: false,
    message: "Not found.",
  },
  model_not_found: {
    status: 404,
    type: "not_found_error",
    graphql: "NOT_FOUND",
    retryable: false,
    message: "The model does not exist.",
  },
  no_endpoints: {
    status: 404,
    type: "not_found_error",
    graphql: "NOT_FOUND",
    retryable: false,
    message: "No endpoints found that match this request.",
  },
  timeout: {
    status: 408,
    type: "timeout_error",
    graphql: "TIMEOUT",
    retryable: true,
    message: "The provider did not answer in time.",
  },
  conflict: {
    status: 409,
    type: "conflict_error",
    graphql: "CONFLICT",
    retryable: false,
    message: "The resource already exists.",
  },
  payload_too_large: {
    status: 413,
    type: "invalid_request_error",
    graphql: "BAD_USER_INPUT",
    retryable: false,
    message: "The request body is too large.",
  },
  rate_limited: {
    status: 429,
    type: "rate_limit_error",
    graphql: "RATE_LIMITED",
    retryable: false,
    message: "Rate limit exceeded.",
  },
  context_length_exceeded: {
    status: 400,
    type: "invalid_request_error",
    graphql: "BAD_USER_INPUT",
    retryable: false,
    message: "The request exceeds the model's context length.",
  },
  content_policy_violation: {
    status: 400,
    type: "invalid_request_error",
    graphql: "BAD_USER_INPUT",
    retryable: false,
    message: "The provider refused the request under its content policy.",
  },
  upstream_rate_limited: {
    status: 429,
    type: "rate_limit_error",
    graphql: "RATE_LIMITED",
    retryable: true,
    message: "The provider is rate limiting requests.",
  },
  upstream_invalid_request: {
    status: 400,
    type: "invalid_request_error",
    graphql: "BAD_USER_INPUT",
    retryable: false,
    message: "The provider rejected the request.",
  },
  provider_error: {
    status: 502,
    type: "api_error",
    graphql: "BAD_GATEWAY",
    retryable: true,
    message: "Provider returned error.",
  },
  provider_unavailable: {
    status: 503,
    type: "api_error",
    graphql: "SERVICE_UNAVAILABLE",
    retryable: true,
    message: "No provider is available for this model right now.",
  },
  cancelled: {
    status: 499,
    type: "cancelled",
    graphql: "CANCELLED",
    retryable: false,
    message: "The client cancelled the request.",
  },
  not_configured: {
    status: 503,
    type: "api_error",
    graphql: "SERVICE_UNAVAILABLE",
    retryable: false,
    message: "This feature is not configured on this server.",
  },
  shutting_down: {
    status: 503,
    type: "api_error",
    graphql: "SERVICE_UNAVAILABLE",
    retryable: false,
    message: "The server is shutting down. Retry the request.",
  },
  payment_error: {
    status: 502,
    type: "api_error",
    graphql: "BAD_GATEWAY",
    retryable: false,
    message: "The payment processor returned an error.",
  },
  internal: {
    status: 500,
    type: "api_error",
    graphql: "INTERNAL_SERVER_ERROR",
    retryable: false,
    message: "Internal server error.",
  },
} as const satisfies Record<string, ErrorSpec>;

export interface ErrorSpec {
  status: number;
  type: string;
  graphql: string;
  retryable: boolean;
  message: string;
}

export type ErrorCode = keyof typeof ERROR_CODES;

/** Structured, client-safe details. Never put secrets, prompts or stack traces here. */
export type ErrorMetadata = Record<string, unknown>;

/** A failure with a registered code. `metadata` is rendered to clients as is. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly metadata: ErrorMetadata | undefined;
  /** Extra HTTP headers to send with the error (e.g. `X-RateLimit-*`). */
  readonly headers: Record<string, string> | undefined;
  /** When to try again: sent as `Retry-After`; for upstream failures, how long the router waits before retrying there. */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: ErrorCode,
    message?: string,
    options: {
      metadata?: ErrorMetadata;
      headers?: Record<string, string>;
      retryAfterMs?: number;
      cause?: unknown;
    } = {},
  ) {
    super(message ?? ERROR_CODES[code].message, { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.metadata = options.metadata;
    this.headers = options.headers;
    this.retryAfterMs = options.retryAfterMs;
  }

  get spec(): ErrorSpec {
    return ERROR_CODES[this.code];
  }

  get status(): number {
    return this.spec.status;
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}

/**
 * Turns anything thrown into an {@link AppError}. Unknown errors become `internal` with the generic message, so an
 * exception's text (which may hold a connection string or a prompt) never reaches a client.
 */
export function toAppError(value: unknown): AppError {
  if (value instanceof AppError) return value;
  return new AppError("internal", undefined, { cause: value });
}

/** The OpenAI/OpenRouter error body: `{error:{code,message,type,param,metadata}}`, `code` being the HTTP status. */
export function errorBody(error: AppError): {
  error: { code: number; message: string; type: string; param: null; metadata: ErrorMetadata };
} {
  return {
    error: {
      code: error.status,
      message: error.message,
      type: error.spec.type,
      param: null,
      metadata: { error_type: error.code, ...error.metadata },
    },
  };
}
