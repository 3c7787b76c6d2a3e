import type { SearchPort, SearchResult } from "../core/ports.js";

/** The simulated backend offers at most this many results per query. */
const SIMULATED_RESULTS = 10;

/**
 * A deterministic web search for development and tests: no network. The same query always gives the same results,
 * derived from the query itself, at `https://search.switchyard.invalid/<query-slug>/<n>` (the `.invalid` domain
 * cannot resolve, so nobody mistakes them for real pages).
 */
export class SimulatedSearch implements SearchPort {
  async search(query: string, { maxResults }: { maxResults: number; signal: AbortSignal }): Promise<SearchResult[]> {
    return simulatedResults(query, maxResults);
  }
}

/** The simulated backend's results for a query (also what tests expect). */
export function simulatedResults(query: string, maxResults: number): SearchResult[] {
  const slug =
    query
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 60)
      .replace(/-+$/, "") || "query";
  const count = Math.min(Math.max(maxResults, 0), SIMULATED_RESULTS);
  return Array.from({ length: count }, (_, i) => ({
    url: `https://search.switchyard.invalid/${slug}/${i + 1}`,
    title: `Simulated result ${i + 1} for "${query}"`,
    content: `A simulated web page about ${query}. It is result ${i + 1} of Switchyard's simulated search; nothing was fetched from the web.`,
  }));
}
