import type { FastifyInstance } from "fastify";
import type { Sql } from "../persistence/sql.js";

/** `GET /health`: 200 when the database answers, 503 otherwise. For load balancers and orchestration. */
export function registerHealthRoutes(app: FastifyInstance, deps: { sql: Sql; version: string }): void {
  app.get("/api/v1/health", async (_request, reply) => {
    const started = performance.now();
    try {
      await deps.sql.query("select 1");
      return { status: "ok", version: deps.version, database: { status: "ok", latency_ms: Math.round(performance.now() - started) } };
    } catch {
      return reply.code(503).send({ status: "unavailable", version: deps.version, database: { status: "unreachable" } });
    }
  });
}
