import { TransactionContext } from "@mikro-orm/core";
import { AsyncLocalStorage } from "node:async_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { User } from "../../src/accounts/user.entity.js";
import { ormScope, ormWork } from "../../src/persistence/orm-work.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { REAL_DATABASE_URL } from "../helpers/database.js";

/** MikroORM's storage for the transaction an EntityManager is in (private in its types). */
const transactionStorage = (TransactionContext as unknown as { storage: AsyncLocalStorage<unknown> }).storage;

/** Node 20's flag for a storage that keeps promise hooks on (absent where storages cost nothing while unused). */
function enabled(storage: AsyncLocalStorage<unknown>): boolean | undefined {
  return (storage as unknown as { enabled?: boolean }).enabled;
}

describe("ORM work", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it("leaves no AsyncLocalStorage switched on once it is done, so the request path's promises stay cheap", async () => {
    // Start-up migrated and synced the catalog in a transaction; this flushes an account, a user and a key as well.
    await t.account();
    const probe = new AsyncLocalStorage<number>();
    await ormWork(t.app.db.orm, async (em) => {
      probe.run(1, () => {});
      await em.transactional(async () => {});
      expect(enabled(transactionStorage)).not.toBe(false);
    });
    for (const storage of [transactionStorage, probe]) {
      const flag = enabled(storage);
      if (flag !== undefined) expect(flag).toBe(false);
    }
  });

  // Two ORM operations at once need two connections: the embedded PGlite serves one at a time.
  it.skipIf(!REAL_DATABASE_URL)("keeps a transaction's context while other ORM work starts and finishes beside it", async () => {
    const email = `context-${Date.now()}@test.local`;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    // The global EntityManager finds the transaction it is in through MikroORM's AsyncLocalStorage: had the storage
    // been switched off under it when the other work finished, these calls would fail or write outside the transaction.
    const em = t.app.db.orm.em;
    const rolledBack = ormScope(() =>
      em.transactional(async () => {
        entered();
        await released;
        const account = await em.findOneOrFail(User, { email: { $ne: null } }, { populate: ["account"] });
        em.create(User, { account: account.account, email, passwordHash: null });
        await em.flush();
        throw new Error("roll back");
      }),
    );
    await inside;
    await ormWork(t.app.db.orm, (em) => em.count(User, {}));
    release();
    await expect(rolledBack).rejects.toThrow("roll back");
    expect(await ormWork(t.app.db.orm, (em) => em.count(User, { email }))).toBe(0);
  });
});
