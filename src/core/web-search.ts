import type { SearchResult } from "./ports.js";
import { contentText } from "./tokens.js";
import type { Annotation, ChatMessage, WebSearchSettings } from "./types.js";

/**
 * The web plugin (`plugins: [{id: "web"}]` and `:online`), as pure functions: the query (the last user message), the
 * system message that hands the results to the model, and the `url_citation` annotations of the answer. The search
 * itself is a port (`SearchPort`); the router runs it once per request, before planning, so the credit hold covers
 * the prompt with the results in it.
 */

export const DEFAULT_SEARCH_RESULTS = 5;
export const MAX_SEARCH_RESULTS = 10;
/** What the web plugin does without settings of its own (`:online`). */
export const DEFAULT_WEB_SEARCH: WebSearchSettings = { maxResults: DEFAULT_SEARCH_RESULTS, searchPrompt: null };
/** Longest query sent to the backend, and longest result snippet put in the prompt (characters). */
const MAX_QUERY_CHARS = 500;
const MAX_SNIPPET_CHARS = 1000;
const MAX_TITLE_CHARS = 200;

/** The text of the last user message (its text parts, for multi-part content), or null when there is none to search for. */
export function searchQuery(messages: readonly ChatMessage[]): string | null {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (message.role !== "user") continue;
    const text = contentText(message.content, " ").replace(/\s+/g, " ").trim();
    return text.length > 0 ? text.slice(0, MAX_QUERY_CHARS) : null;
  }
  return null;
}

/** Results as the model and the client see them: at most `maxResults`, with titles and snippets of bounded length. */
export function trimResults(results: readonly SearchResult[], maxResults: number): SearchResult[] {
  return results.slice(0, maxResults).map((r) => ({
    url: r.url,
    title: r.title.slice(0, MAX_TITLE_CHARS) || r.url,
    content: r.content.slice(0, MAX_SNIPPET_CHARS),
  }));
}

/**
 * The messages with the results added as a system message: after the leading system and developer messages (some
 * chat templates accept system messages only at the start), before the conversation. The message numbers the sources
 * and asks the model to cite them; `searchPrompt` replaces the default instruction.
 */
export function withSearchResults(
  messages: readonly ChatMessage[],
  results: readonly SearchResult[],
  settings: WebSearchSettings,
  now: Date,
): ChatMessage[] {
  const instruction =
    settings.searchPrompt ??
    `A web search was conducted on ${now.toISOString().slice(0, 10)}. Incorporate the following web search results into your response.\n\n` +
      "IMPORTANT: Cite them using markdown links named using the domain of the source.\n" +
      "Example: [nytimes.com](https://nytimes.com/some-page).";
  const sources = results.map((r, i) => `[${i + 1}] ${r.title}\nURL: ${r.url}\n${r.content}`).join("\n\n");
  const message: ChatMessage = { role: "system", content: `${instruction}\n\n${sources}` };
  let at = 0;
  while (at < messages.length && (messages[at].role === "system" || messages[at].role === "developer")) at++;
  return [...messages.slice(0, at), message, ...messages.slice(at)];
}

/**
 * One `url_citation` annotation per result, in the order the model was given them. Each points at where the answer
 * cites the source — a markdown link to its URL, else the bare URL, else its `[n]` marker — or at 0…0 when it does not.
 */
export function citationAnnotations(content: string, results: readonly SearchResult[]): Annotation[] {
  return results.map((result, i) => {
    const span = citationSpan(content, result.url, i + 1);
    return {
      type: "url_citation",
      url_citation: { url: result.url, title: result.title, content: result.content, start_index: span[0], end_index: span[1] },
    };
  });
}

function citationSpan(content: string, url: string, number: number): [number, number] {
  const escaped = url.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const patterns = [new RegExp(`\\[[^\\]\\n]*\\]\\(${escaped}\\)`), new RegExp(escaped), new RegExp(`\\[${number}\\](?!\\()`)];
  for (const pattern of patterns) {
    const match = pattern.exec(content);
    if (match) return [match.index, match.index + match[0].length];
  }
  return [0, 0];
}
