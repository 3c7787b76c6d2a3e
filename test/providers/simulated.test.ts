import { describe, expect, it } from "vitest";
import type { UpstreamEvent } from "../../src/core/types.js";
import { SimulatedAdapter } from "../../src/providers/simulated.js";
import { describeAdapterConformance } from "./adapter.case.js";
import { endpointInfo, providerInfo, upstreamCall } from "./fixtures.js";

describeAdapterConformance(
  "simulated",
  async () => {
    const adapter = new SimulatedAdapter();
    return {
      adapter,
      endpoint: (simulation, options = {}) =>
        endpointInfo(providerInfo({ adapter: "simulated", apiKey: options.apiKey ?? null }), { ...simulation }),
      close: async () => {},
    };
  },
  {
    "secret-in-echoed-header": "the simulated adapter never leaves the process and sends no Authorization header to echo",
  },
);

describe("simulated adapter", () => {
  const provider = providerInfo({ adapter: "simulated" });
  const collect = async (events: AsyncIterable<UpstreamEvent>) => {
    const all: UpstreamEvent[] = [];
    for await (const event of events) all.push(event);
    return all;
  };

  it("answers with the default simulation when the endpoint has none", async () => {
    const endpoint = endpointInfo(provider, null);
    const all = await collect(await new SimulatedAdapter().send(upstreamCall(endpoint, { stream: false, signal: new AbortController().signal })));
    expect(all).toHaveLength(1);
    expect(all[0].delta?.content).toBe(`This is a simulated answer from ${endpoint.upstreamModel}. You said: What is the weather in Paris?`);
    expect(all[0].nativeFinishReason).toBe("stop");
  });

  it("counts faultTimes per endpoint, so one endpoint's failures do not use up another's", async () => {
    const adapter = new SimulatedAdapter();
    const simulation = { fault: { type: "http_error", status: 503 }, faultTimes: 1 };
    const first = endpointInfo(provider, simulation);
    const second = endpointInfo(provider, simulation);
    const call = (endpoint: typeof first) => adapter.send(upstreamCall(endpoint, { stream: false, signal: new AbortController().signal }));
    await expect(call(first)).rejects.toMatchObject({ code: "provider_unavailable" });
    await expect(call(second)).rejects.toMatchObject({ code: "provider_unavailable" });
    for (const endpoint of [first, second]) {
      const all = await collect(await call(endpoint));
      expect(all).toHaveLength(1);
      expect(all[0].delta?.content).toBe(`This is a simulated answer from ${endpoint.upstreamModel}. You said: What is the weather in Paris?`);
    }
  });
});
