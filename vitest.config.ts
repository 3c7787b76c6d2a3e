import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

/**
 * Tests run against embedded PostgreSQL (PGlite, one per test file) by default, and against a real server when
 * DATABASE_URL is set (each test file gets its own fresh database there). Concurrency tests run only on a real server.
 */
export default defineConfig({
  resolve: {
    // One copy of graphql: Vite would pick its ES build for our sources while type-graphql and Apollo (loaded by Node)
    // get the CommonJS one, and a scalar from one copy is not a scalar to the other.
    alias: [{ find: /^graphql$/, replacement: require.resolve("graphql") }],
  },
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/helpers/setup.ts"],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ["default"],
  },
});
