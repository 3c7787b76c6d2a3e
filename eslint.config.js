import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", ".switchyard/", "test/generated/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023, sourceType: "module" },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "no-restricted-properties": [
        "error",
        { object: "process", property: "env", message: "Read configuration through src/config.ts (the only reader of process.env)." },
      ],
      eqeqeq: ["error", "always"],
    },
  },
  {
    files: ["src/config.ts", "test/**", "scripts/**", "vitest.config.ts"],
    rules: { "no-restricted-properties": "off" },
  },
  {
    // Tests assert on untyped JSON from the wire.
    files: ["test/**"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    // The core knows no transport and no ORM.
    files: ["src/core/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["fastify", "@apollo/*", "graphql", "graphql-ws", "type-graphql", "@mikro-orm/*", "pg", "undici"], message: "src/core must not import transports or the ORM; add a port." },
            { group: ["../rest/*", "../graphql/*", "../persistence/*", "../accounts/*", "../catalog/*", "../usage/*"], message: "src/core reaches other modules only through ports (src/core/ports.ts)." },
          ],
        },
      ],
    },
  },
);
