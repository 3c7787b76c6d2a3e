import type { CodegenConfig } from "@graphql-codegen/cli";

/**
 * Typed documents for the operations the tests send (test/operations/**.graphql), generated from the committed
 * schema.graphql. `npm run codegen` regenerates; CI fails when the output differs from what is committed.
 */
const config: CodegenConfig = {
  schema: "schema.graphql",
  documents: ["test/operations/**/*.graphql"],
  emitLegacyCommonJSImports: false,
  generates: {
    "test/generated/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { Money: "string", DateTime: "string", LocalDate: "string", SafeInt: "number", JSONObject: "Record<string, unknown>" },
      },
    },
  },
  silent: true,
};

export default config;
