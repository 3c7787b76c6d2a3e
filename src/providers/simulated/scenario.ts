import { z } from "zod";

/**
 * A fault the simulated provider injects, as a real upstream would misbehave. Faults after N tokens apply to streamed
 * requests; a non-streamed request with such a fault fails the same way before any answer.
 */
const simulatedFaultSchema = z.discriminatedUnion("type", [
  /** Answer with this HTTP status and an OpenAI-style error body; `retryAfter` (seconds) adds a `Retry-After` header. */
  z.object({
    type: z.literal("http_error"),
    status: z.number().int().min(400).max(599),
    retryAfter: z.number().min(0).optional(),
    message: z.string().optional(),
  }),
  /** Drop the connection before answering. */
  z.object({ type: z.literal("connection_reset") }),
  /** Accept the request and never answer. */
  z.object({ type: z.literal("no_answer") }),
  /** Stream `afterTokens` tokens, then go silent with the connection open. */
  z.object({ type: z.literal("stall"), afterTokens: z.number().int().min(0) }),
  /** Stream `afterTokens` tokens, then drop the connection. */
  z.object({ type: z.literal("cut"), afterTokens: z.number().int().min(0) }),
  /** Send a chunk that is not valid JSON after `afterTokens` tokens, then carry on. */
  z.object({ type: z.literal("malformed_chunk"), afterTokens: z.number().int().min(0) }),
  /** Finish normally but close without `data: [DONE]`. */
  z.object({ type: z.literal("missing_done") }),
  /** Refuse with a context-length error (400). */
  z.object({ type: z.literal("context_length") }),
  /** Refuse with a content-policy error (400). */
  z.object({ type: z.literal("content_policy") }),
]);
export type SimulatedFault = z.infer<typeof simulatedFaultSchema>;

/** How a simulated endpoint behaves: set per endpoint in the catalog (`simulation`). */
export const simulationSchema = z
  .object({
    /** Delay before the first token, in ms. */
    ttftMs: z.number().int().min(0).default(0),
    /** Pace of the stream after the first token; 0 means as fast as possible. */
    tokensPerSecond: z.number().min(0).default(0),
    /** Fixed answer text; by default the answer is derived from the last user message. */
    reply: z.string().optional(),
    /** Emit this reasoning text before the answer (as `reasoning` deltas). */
    reasoning: z.string().optional(),
    /** Report token usage like a real provider (default); false exercises counting by Switchyard. */
    reportUsage: z.boolean().default(true),
    fault: simulatedFaultSchema.optional(),
    /** Inject the fault only on the first N requests to this endpoint (per process); by default on every request. */
    faultTimes: z.number().int().min(1).optional(),
  })
  .strict();
export type Simulation = z.infer<typeof simulationSchema>;
