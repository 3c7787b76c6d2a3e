import { describe, expect, it } from "vitest";
import { CatalogFileError, defaultCatalog, parseCatalog } from "../../src/catalog/catalog-file.js";

const MINIMAL = {
  providers: [
    {
      slug: "acme",
      name: "Acme AI",
      adapter: "openai-compatible",
      baseUrl: "http://127.0.0.1:9000/v1",
      apiKeyEnv: "ACME_API_KEY",
      dataPolicy: { training: false, retainsPrompts: false },
    },
  ],
  models: [
    {
      id: "acme/model-a",
      name: "Acme Model A",
      contextLength: 8192,
      endpoints: [
        {
          provider: "acme",
          upstreamModel: "model-a",
          maxCompletionTokens: 4096,
          pricing: { prompt: "0.000001", completion: "0.000002" },
        },
      ],
    },
  ],
};

type Doc = { providers: Array<Record<string, unknown>>; models: Array<Record<string, unknown>> };

/** A copy of the minimal document, changed by `edit`. */
function minimal(edit: (doc: Doc) => void = () => {}): Doc {
  const doc = structuredClone(MINIMAL) as Doc;
  edit(doc);
  return doc;
}

const endpoint = (overrides: Record<string, unknown> = {}) => ({
  provider: "acme",
  upstreamModel: "model-a",
  pricing: { prompt: "0.000001", completion: "0.000002" },
  ...overrides,
});

/** The problems a document is refused with (fails the test when it is accepted). */
function problemsOf(document: unknown, knownProviders: string[] = []): string[] {
  try {
    parseCatalog(document, "test.json", knownProviders);
  } catch (error) {
    expect(error).toBeInstanceOf(CatalogFileError);
    expect((error as CatalogFileError).source).toBe("test.json");
    return (error as CatalogFileError).problems;
  }
  throw new Error("expected the catalog to be refused");
}

describe("parseCatalog", () => {
  it("parses the minimal document exactly as written, with prices in picodollars", () => {
    expect(parseCatalog(MINIMAL, "test.json")).toEqual({
      providers: [
        {
          slug: "acme",
          name: "Acme AI",
          adapter: "openai-compatible",
          baseUrl: "http://127.0.0.1:9000/v1",
          apiKeyEnv: "ACME_API_KEY",
          dataPolicy: { training: false, retainsPrompts: false },
        },
      ],
      models: [
        {
          id: "acme/model-a",
          name: "Acme Model A",
          contextLength: 8192,
          endpoints: [
            {
              provider: "acme",
              upstreamModel: "model-a",
              maxCompletionTokens: 4096,
              pricing: { prompt: 1_000_000n, completion: 2_000_000n },
              variant: "standard",
              tag: "acme",
            },
          ],
        },
      ],
    });
  });

  it("accepts an empty document", () => {
    expect(parseCatalog({}, "empty.json")).toEqual({ providers: [], models: [] });
  });

  it("parses every optional price", () => {
    const doc = minimal((d) => {
      d.models[0].endpoints = [
        endpoint({
          pricing: {
            prompt: "0",
            completion: "0.00000015",
            request: "0.005",
            image: "0.001445",
            reasoning: "0.00001",
            cacheRead: "0.0000001",
            cacheWrite: "0.00000125",
            webSearch: "0.01",
          },
        }),
      ];
    });
    expect(parseCatalog(doc, "test.json").models[0].endpoints[0].pricing).toEqual({
      prompt: 0n,
      completion: 150_000n,
      request: 5_000_000_000n,
      image: 1_445_000_000n,
      reasoning: 10_000_000n,
      cacheRead: 100_000n,
      cacheWrite: 1_250_000n,
      webSearch: 10_000_000_000n,
    });
  });

  it("tags an endpoint with its provider, or provider/subTag", () => {
    const doc = minimal((d) => {
      d.models[0].endpoints = [endpoint(), endpoint({ subTag: "turbo", quantization: "fp8" })];
    });
    expect(parseCatalog(doc, "test.json").models[0].endpoints.map((e) => e.tag)).toEqual(["acme", "acme/turbo"]);
  });

  it("gives every endpoint the static variant of a model id with a suffix", () => {
    const doc = minimal((d) => {
      d.models[0].id = "acme/model-a:free";
      d.models[0].endpoints = [endpoint({ pricing: { prompt: "0", completion: "0" } })];
    });
    const [model] = parseCatalog(doc, "test.json").models;
    expect(model.id).toBe("acme/model-a");
    expect(model.endpoints.map((e) => e.variant)).toEqual(["free"]);
  });

  it("lets an endpoint's own variant win over the model id's suffix", () => {
    const doc = minimal((d) => {
      d.models[0].id = "acme/model-a:free";
      d.models[0].endpoints = [endpoint({ variant: "extended" })];
    });
    expect(parseCatalog(doc, "test.json").models[0].endpoints[0].variant).toBe("extended");
  });

  it("allows the same tag once per variant", () => {
    const doc = minimal((d) => {
      d.models[0].endpoints = [endpoint(), endpoint({ variant: "free" }), endpoint({ variant: "thinking" })];
    });
    expect(parseCatalog(doc, "test.json").models[0].endpoints.map((e) => `${e.variant}@${e.tag}`)).toEqual([
      "standard@acme",
      "free@acme",
      "thinking@acme",
    ]);
  });

  it("lets endpoints refer to providers defined elsewhere", () => {
    const doc = minimal((d) => {
      d.providers = [];
    });
    expect(parseCatalog(doc, "test.json", ["acme"]).models[0].endpoints[0].provider).toBe("acme");
  });

  it("accepts a simulated provider without a base URL", () => {
    const doc = minimal((d) => {
      d.providers = [{ slug: "acme", name: "Acme", adapter: "simulated" }];
    });
    expect(parseCatalog(doc, "test.json").providers).toEqual([{ slug: "acme", name: "Acme", adapter: "simulated" }]);
  });

  it("parses the default catalog", () => {
    const catalog = defaultCatalog();
    expect(catalog.providers.map((p) => p.slug)).toEqual(["simulated", "sim-budget", "sim-premium", "openai", "anthropic", "ollama"]);
    expect(catalog.models.map((m) => m.id)).toContain("switchyard/echo");
    const echo = catalog.models.find((m) => m.id === "switchyard/echo");
    expect(echo?.endpoints.map((e) => `${e.variant}@${e.tag}`)).toEqual(["standard@simulated", "free@simulated"]);
  });

  describe("problems", () => {
    it("names an unknown provider with its path", () => {
      const doc = minimal((d) => {
        d.models[0].endpoints = [endpoint(), endpoint({ provider: "nope" })];
      });
      expect(problemsOf(doc)).toEqual(['models.0.endpoints.1.provider: unknown provider "nope"']);
    });

    it("names a duplicate provider slug with its path", () => {
      const doc = minimal((d) => {
        d.providers.push({ slug: "acme", name: "Acme again", adapter: "simulated" });
      });
      expect(problemsOf(doc)).toEqual(['providers.1.slug: duplicate provider "acme"']);
    });

    it("names a bad price with its path", () => {
      const doc = minimal((d) => {
        d.models[0].endpoints = [endpoint({ pricing: { prompt: "0.0000000000001", completion: "-0.000001", request: "free" } })];
      });
      expect(problemsOf(doc)).toEqual([
        "models.0.endpoints.0.pricing.prompt: 0.0000000000001 has more than 12 decimal places",
        "models.0.endpoints.0.pricing.completion: a price must not be negative",
        'models.0.endpoints.0.pricing.request: expected a decimal USD amount like "0.000002", got "free"',
      ]);
    });

    it("refuses a price given as a number", () => {
      const doc = minimal((d) => {
        d.models[0].endpoints = [endpoint({ pricing: { prompt: 0.000001, completion: "0" } })];
      });
      expect(problemsOf(doc)).toEqual(["models.0.endpoints.0.pricing.prompt: Invalid input: expected string, received number"]);
    });

    it("names an unknown variant suffix with its path", () => {
      const doc = minimal((d) => {
        d.models[0].id = "acme/model-a:nitro";
      });
      expect(problemsOf(doc)).toEqual([
        'models.0.id: unknown variant ":nitro" (static variants are standard, free, extended, thinking)',
      ]);
    });

    it("names a duplicate endpoint tag with its path", () => {
      const doc = minimal((d) => {
        d.models[0].endpoints = [endpoint(), endpoint({ subTag: "turbo" }), endpoint({ upstreamModel: "model-a-v2" })];
      });
      expect(problemsOf(doc)).toEqual([
        'models.0.endpoints.2: a second standard endpoint of acme/model-a with tag "acme" (use subTag to tell them apart)',
      ]);
    });

    it("names a completion limit larger than the context", () => {
      const doc = minimal((d) => {
        d.models[0].endpoints = [
          endpoint({ maxCompletionTokens: 8192 }),
          endpoint({ subTag: "a", maxCompletionTokens: 8193 }),
          endpoint({ subTag: "b", contextLength: 1000, maxCompletionTokens: 1001 }),
        ];
      });
      expect(problemsOf(doc)).toEqual([
        "models.0.endpoints.1.maxCompletionTokens: larger than the context length",
        "models.0.endpoints.2.maxCompletionTokens: larger than the context length",
      ]);
    });

    it("lists every cross-reference problem at once", () => {
      const doc = minimal((d) => {
        d.providers.push({ slug: "acme", name: "Acme again", adapter: "simulated" });
        d.models[0].id = "acme/model-a:bogus";
        d.models[0].endpoints = [
          endpoint({ provider: "nope" }),
          endpoint({ variant: "standard", maxCompletionTokens: 9000 }),
          endpoint({ variant: "standard" }),
        ];
      });
      expect(problemsOf(doc)).toEqual([
        'providers.1.slug: duplicate provider "acme"',
        'models.0.id: unknown variant ":bogus" (static variants are standard, free, extended, thinking)',
        'models.0.endpoints.0.provider: unknown provider "nope"',
        "models.0.endpoints.1.maxCompletionTokens: larger than the context length",
        'models.0.endpoints.2: a second standard endpoint of acme/model-a with tag "acme" (use subTag to tell them apart)',
      ]);
    });

    it("lists every schema problem at once", () => {
      expect(
        problemsOf({
          providers: [{ slug: "Acme", name: "", adapter: "grpc" }],
          models: [{ id: "no-author", name: "X", contextLength: 0, endpoints: [] }],
          extra: true,
        }),
      ).toEqual([
        'providers.0.slug: expected a lower-case slug like "acme"',
        "providers.0.name: Too small: expected string to have >=1 characters",
        'providers.0.adapter: Invalid option: expected one of "openai-compatible"|"anthropic"|"simulated"',
        'models.0.id: expected a model id like "author/model-name"',
        "models.0.contextLength: Too small: expected number to be >0",
        '(root): Unrecognized key: "extra"',
      ]);
    });

    it("requires a base URL for a provider that is not simulated", () => {
      const doc = minimal((d) => {
        delete d.providers[0].baseUrl;
      });
      expect(problemsOf(doc)).toEqual(["providers.0: a provider needs baseUrl or baseUrlEnv (except the simulated adapter)"]);
    });

    it("refuses unknown keys on an endpoint", () => {
      const doc = minimal((d) => {
        d.models[0].endpoints = [endpoint({ maxTokens: 10 })];
      });
      expect(problemsOf(doc)).toEqual(['models.0.endpoints.0: Unrecognized key: "maxTokens"']);
    });

    it("lists a bad price and an unknown provider together", () => {
      const doc = minimal((d) => {
        d.models[0].endpoints = [endpoint({ pricing: { prompt: "abc", completion: "0" } }), endpoint({ provider: "nope", subTag: "x" })];
      });
      expect(problemsOf(doc)).toEqual([
        'models.0.endpoints.0.pricing.prompt: expected a decimal USD amount like "0.000002", got "abc"',
        'models.0.endpoints.1.provider: unknown provider "nope"',
      ]);
    });

    // Entries with one base id ("acme/model-a" and "acme/model-a:free") are one model: a repeated endpoint would
    // silently replace the other when the catalog is synced.
    it("refuses the same endpoint declared in two entries of one model", () => {
      const doc = minimal((d) => {
        d.models.push({ id: "acme/model-a", name: "Acme Model A", contextLength: 8192, endpoints: [endpoint({ upstreamModel: "other" })] });
      });
      expect(problemsOf(doc)).toHaveLength(1);
    });
  });
});
