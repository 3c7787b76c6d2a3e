import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";

describe("a gateway started with the default catalog", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it("answers /health with the database status", async () => {
    const response = await t.fetch("/api/v1/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "ok", database: { status: "ok" } });
  });

  it("answers a chat completion from the simulated provider", async () => {
    const { key } = await t.account();
    const response = await t.fetch("/api/v1/chat/completions", {
      key,
      body: { model: "switchyard/echo", messages: [{ role: "user", content: "Hi" }] },
    });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.choices[0].message.content).toContain("You said: Hi");
  });
});
