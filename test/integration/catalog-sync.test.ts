import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { defaultCatalog } from "../../src/catalog/catalog-file.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

/** The in-memory catalog follows `catalog.changed` events from other nodes, and not its own. */
describe("catalog snapshot reloads", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it("reloads when another node announces a catalog change", async () => {
    const before = t.app.catalog.snapshot();
    expect(before.models.get("switchyard/echo")?.name).not.toBe("Echo (renamed elsewhere)");
    // Another node's sync: the row changes in the database and the event arrives on the bus.
    await t.app.db.sql.query("update model set name = $1 where id = $2", ["Echo (renamed elsewhere)", "switchyard/echo"]);
    t.app.bus.publish("catalog.changed", {});
    await vi.waitFor(() => expect(t.app.catalog.snapshot().models.get("switchyard/echo")?.name).toBe("Echo (renamed elsewhere)"));
    expect(t.app.catalog.snapshot()).not.toBe(before);
  });

  it("reads the catalog once after its own sync, not again on its own event", async () => {
    const refresh = vi.spyOn(t.app.catalog, "refresh");
    try {
      await t.app.catalog.sync(defaultCatalog());
      expect(refresh).toHaveBeenCalledTimes(1);
      expect(t.app.catalog.snapshot().models.get("switchyard/echo")?.name).not.toBe("Echo (renamed elsewhere)");
    } finally {
      refresh.mockRestore();
    }
  });
});
