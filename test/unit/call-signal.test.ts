import { describe, expect, it } from "vitest";
import { CallAbort } from "../../src/core/call-signal.js";
import { sleep } from "../../src/core/sleep.js";

describe("CallAbort (the router's light abort signal)", () => {
  it("aborts once: the first reason stays, each listener is called once, a removed or late listener never", () => {
    const abort = new CallAbort();
    const calls: string[] = [];
    const removed = () => calls.push("removed");
    abort.addEventListener("abort", () => calls.push("first"));
    abort.addEventListener("abort", removed);
    abort.removeEventListener("abort", removed);
    abort.abort("why");
    abort.abort("again");
    abort.addEventListener("abort", () => calls.push("late"));
    expect(abort).toMatchObject({ aborted: true, reason: "why" });
    expect(calls).toEqual(["first"]);
  });

  it("ends a sleep with its reason, and gives a DOM signal that follows it for APIs that need one", async () => {
    const abort = new CallAbort();
    const dom = abort.domSignal;
    const sleeping = sleep(60_000, abort);
    abort.abort(new Error("stop"));
    await expect(sleeping).rejects.toThrow("stop");
    expect(dom.aborted).toBe(true);
    expect(dom.reason).toEqual(new Error("stop"));
    expect(new CallAbort().domSignal.aborted).toBe(false);
  });
});
