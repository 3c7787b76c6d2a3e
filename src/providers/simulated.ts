import { AppError } from "../errors.js";
import type { ProviderAdapter, UpstreamCall } from "../core/ports.js";
import type { UpstreamEvent } from "../core/types.js";
import { chatRequestBody, readChatResponse } from "./openai-wire.js";
import { simulationSchema, type Simulation } from "./simulated/scenario.js";
import { SimulatedConnectionReset, simulate } from "./simulated/engine.js";
import { transportError } from "./upstream-errors.js";

const DEFAULT_SIMULATION = simulationSchema.parse({});

/**
 * The `simulated` adapter: the in-process simulated model (see `simulated/engine.ts`) behind the same OpenAI wire
 * reading as the `openai-compatible` adapter, so its injected faults exercise the real parsing and error paths.
 * Clearly a simulation: it never leaves the process, and catalog entries price it at zero unless configured.
 */
export class SimulatedAdapter implements ProviderAdapter {
  readonly kind = "simulated" as const;
  /** Requests per endpoint, for faults limited to the first N requests (`faultTimes`). */
  private readonly calls = new Map<string, number>();
  /** Parsed simulation settings per catalog snapshot entry (the catalog validated them when it was loaded). */
  private readonly settings = new WeakMap<object, Simulation>();

  async send(call: UpstreamCall): Promise<AsyncIterable<UpstreamEvent>> {
    const { endpoint } = call;
    try {
      const simulation = this.simulationOf(endpoint.simulation);
      const count = (this.calls.get(endpoint.id) ?? 0) + 1;
      this.calls.set(endpoint.id, count);
      const injectFault = simulation.fault !== undefined && (simulation.faultTimes === undefined || count <= simulation.faultTimes);
      const response = await simulate(chatRequestBody(call), simulation, { signal: call.signal, injectFault });
      return await readChatResponse(response, endpoint.provider, call.stream);
    } catch (error) {
      if (error instanceof SimulatedConnectionReset) throw transportError(error, endpoint.provider);
      if (error instanceof AppError || call.signal.aborted) throw error;
      throw transportError(error, endpoint.provider);
    }
  }

  private simulationOf(raw: Record<string, unknown> | null): Simulation {
    if (!raw) return DEFAULT_SIMULATION;
    let parsed = this.settings.get(raw);
    if (!parsed) {
      parsed = simulationSchema.parse(raw);
      this.settings.set(raw, parsed);
    }
    return parsed;
  }
}
