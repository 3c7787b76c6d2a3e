import pg from "pg";

const INT8_OID = 20;

/** Type parsers for this pool only: `bigint` columns (money, counters) arrive as JS `bigint`, never as lossy numbers. */
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID ? (value: string) => BigInt(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** Something that runs one parameterised statement: the pool, or a client inside a transaction. */
export interface Queryable {
  query<R extends object = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]>;
}

/**
 * Hand-written SQL for the hot path (admission, settlement) and for the few statements an ORM cannot express atomically.
 * It has its own small pool beside the ORM's, so a slow ORM query never queues behind the request path or vice versa.
 */
export class Sql implements Queryable {
  private readonly pool: pg.Pool;

  constructor(
    private readonly url: string,
    max: number,
  ) {
    this.pool = new pg.Pool({ connectionString: url, max, types });
    // An idle client losing its connection must not crash the process; the pool replaces it.
    this.pool.on("error", () => {});
  }

  async query<R extends object = Record<string, unknown>>(text: string, params: readonly unknown[] = []): Promise<R[]> {
    const result = await this.pool.query<R>(text, params as unknown[]);
    return result.rows;
  }

  /** Runs `work` in one transaction on one connection; rolls back if it throws. */
  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const tx: Queryable = {
        query: async <R extends object>(text: string, params: readonly unknown[] = []) =>
          (await client.query<R>(text, params as unknown[])).rows,
      };
      const result = await work(tx);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * A separate small pool on the same database with `pg`'s default type parsing, for libraries that bring their own
   * queries (rate-limiter-flexible). The caller ends it.
   */
  newPool(max: number): pg.Pool {
    const pool = new pg.Pool({ connectionString: this.url, max });
    pool.on("error", () => {});
    return pool;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
