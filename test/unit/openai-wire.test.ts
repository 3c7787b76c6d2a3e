import { describe, expect, it } from "vitest";
import type { ProviderInfo, UpstreamEvent } from "../../src/core/types.js";
import { contentChunk, readChatResponse } from "../../src/providers/openai-wire.js";
import { rejection } from "../helpers/rejection.js";

const provider = { name: "Test", slug: "test" } as ProviderInfo;

/** The events of a stream of `chunks` (each one `data:` line), ended by a finish reason and [DONE]. */
async function events(chunks: string[]): Promise<UpstreamEvent[]> {
  const finish = '{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}';
  const body = [...chunks, finish, "[DONE]"].map((data) => `data: ${data}\n\n`).join("");
  const stream = await readChatResponse(
    { status: 200, headers: { "content-type": "text/event-stream" }, body: (async function* () {
        yield Buffer.from(body);
      })() },
    provider,
    true,
  );
  const out: UpstreamEvent[] = [];
  for await (const event of stream) out.push(event);
  return out.slice(0, -1);
}

/** The same JSON with a space after its opening brace: equal as JSON, but never taken by the text-chunk pass-through. */
const spaced = (data: string) => `{ ${data.slice(1)}`;

// Chunks as servers send them: OpenAI (logprobs before finish_reason, fields after choices), vLLM, llama.cpp, escapes.
const CHUNKS = [
  '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}',
  '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","service_tier":"default","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":" there"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"x1"}',
  '{"id":"cmpl-2","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"say \\"hi\\"\\n\\u00e9\\ud83d\\ude00 \\\\ /"},"finish_reason":null,"logprobs":null}]}',
  '{"id":"c","choices":[{"index":0,"delta":{"content":""},"finish_reason":null}]}',
  '{"choices":[{"index":0,"delta":{"content":"no id"},"finish_reason":null}],"created":-1.5e3,"ok":true}',
  '{"object":"x","id":"late","choices":[{"index":0,"delta":{"content":"id after another field"},"finish_reason":null}]}',
  // Not text-only: these take the full parse, and the pass-through must not change what they give.
  '{"id":"t","choices":[{"index":0,"delta":{"reasoning":"think"},"finish_reason":null}]}',
  '{"id":"t","choices":[{"index":0,"delta":{"content":"a","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]},"finish_reason":null}]}',
  '{"id":"u","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}',
  '{"id":"two","choices":[{"index":1,"delta":{"content":"second choice"},"finish_reason":null}]}',
];

describe("OpenAI wire: the text-chunk pass-through", () => {
  it("gives for each chunk exactly the event a full JSON parse gives", async () => {
    for (const chunk of CHUNKS) {
      expect(await events([chunk]), chunk).toEqual(await events([spaced(chunk)]));
    }
  });

  it("takes the text chunks of OpenAI, vLLM and llama.cpp, and nothing else", () => {
    expect(CHUNKS.map((chunk) => contentChunk(chunk) !== null)).toEqual([true, true, true, true, true, false, false, false, false, false]);
  });

  it("takes text and the id out of a text chunk, decoding escapes", async () => {
    expect(await events([CHUNKS[0]!, CHUNKS[2]!])).toEqual([
      { upstreamId: "chatcmpl-1", delta: { content: "Hel" } },
      { upstreamId: "cmpl-2", delta: { content: 'say "hi"\né😀 \\ /' } },
    ]);
  });

  it("never passes an in-band error off as text, whatever its form", async () => {
    const error = '{"id":"e","error":"overloaded","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}';
    expect((await rejection(events([error]))).code).toBe("provider_error");
    const objectError = '{"id":"e","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}],"error":{"message":"overloaded","code":529}}';
    expect((await rejection(events([objectError]))).code).not.toBe("internal");
  });

  it("leaves a chunk with a raw control character, a bad escape or a number JSON forbids to the full parse, which skips it as malformed", async () => {
    const raw = '{"id":"r","choices":[{"index":0,"delta":{"content":"line\nbreak"},"finish_reason":null}]}';
    const badEscape = '{"id":"r","choices":[{"index":0,"delta":{"content":"\\x41"},"finish_reason":null}]}';
    const leadingZero = '{"id":"r","created":01,"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}';
    expect(contentChunk(leadingZero)).toBeNull();
    expect(await events([raw, badEscape, leadingZero, CHUNKS[0]!])).toEqual([{ upstreamId: "chatcmpl-1", delta: { content: "Hel" } }]);
  });
});
