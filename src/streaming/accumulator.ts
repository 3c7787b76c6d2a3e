import type { Delta, ToolCall } from "../core/types.js";

/** Builds the whole answer (content, reasoning, tool calls) from streamed deltas, as a non-streamed response carries it. */
export class AnswerAccumulator {
  content = "";
  reasoning = "";
  private readonly calls: ToolCall[] = [];

  add(delta: Delta): void {
    if (delta.content) this.content += delta.content;
    if (delta.reasoning) this.reasoning += delta.reasoning;
    for (const part of delta.tool_calls ?? []) {
      const call = (this.calls[part.index] ??= { id: "", type: "function", function: { name: "", arguments: "" } });
      if (part.id) call.id = part.id;
      if (part.function?.name) call.function.name += part.function.name;
      if (part.function?.arguments) call.function.arguments += part.function.arguments;
    }
  }

  get toolCalls(): ToolCall[] {
    return this.calls.filter(Boolean);
  }

  /** Everything the model generated, as text, for counting tokens when the provider reports none. */
  get generatedText(): string {
    return this.reasoning + this.content + this.toolCalls.map((c) => c.function.name + c.function.arguments).join("");
  }
}
