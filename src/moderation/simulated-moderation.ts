import type { ModerationPort, ModerationResult } from "../core/ports.js";

/** A term the simulated backend flags, and the category it reports. */
export interface FlaggedTerm {
  term: string;
  category: string;
}

/** The category of a configured term without one. */
const DEFAULT_TERM_CATEGORY = "flagged_term";

/**
 * A deterministic moderation backend for development and tests: no network. An input is flagged when it contains one
 * of the configured terms (case-insensitive); its reasons are those terms' categories. With no terms it flags nothing.
 */
export class SimulatedModeration implements ModerationPort {
  private readonly terms: FlaggedTerm[];

  constructor(terms: readonly FlaggedTerm[]) {
    this.terms = terms.map((t) => ({ term: t.term.toLowerCase(), category: t.category }));
  }

  async moderate(inputs: string[]): Promise<ModerationResult[]> {
    return inputs.map((input) => {
      const text = input.toLowerCase();
      const reasons = [...new Set(this.terms.filter((t) => text.includes(t.term)).map((t) => t.category))];
      return { flagged: reasons.length > 0, reasons };
    });
  }
}

/** `term` or `term=category`, separated by commas (`SWITCHYARD_MODERATION_FLAGGED_TERMS`). */
export function parseFlaggedTerms(list: string): FlaggedTerm[] {
  return list
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const [term, category] = entry.split("=").map((part) => part.trim());
      return { term, category: category || DEFAULT_TERM_CATEGORY };
    })
    .filter((t) => t.term.length > 0);
}
