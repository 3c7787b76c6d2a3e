import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GenerationsDocument, KeysDocument, TransactionsDocument } from "../generated/graphql.js";
import { TEST_CATALOG } from "../helpers/catalogs.js";
import { startTestApp, type TestAccount, type TestApp } from "../helpers/app.js";

/**
 * `after` cursors the connections refuse: a cursor of another list, and one of the right list whose position cannot
 * be one of its rows. Both are BAD_USER_INPUT naming the `after` argument, before any page is read.
 */

let t: TestApp;

/** A cursor as the server encodes them (base64url JSON: the list, then the position), with any position. */
const cursor = (...parts: Array<string | number>) => Buffer.from(JSON.stringify(parts)).toString("base64url");

/** The only error of an operation that must fail, as it came over the wire. */
async function error<R, V>(doc: TypedDocumentNode<R, V>, variables: V, key: string) {
  const response = await fetch(`${t.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: print(doc), variables }),
  });
  const answer = (await response.json()) as { data?: unknown; errors?: Array<{ message: string; extensions: Record<string, unknown> }> };
  expect(answer.errors, JSON.stringify(answer.data)).toHaveLength(1);
  return answer.errors![0];
}

describe("GraphQL connections refuse bad cursors", () => {
  let a: TestAccount;
  let management: string;

  beforeAll(async () => {
    t = await startTestApp({ catalog: TEST_CATALOG });
    a = await t.account({ credits: "1" });
    management = (await t.app.accounts.createKey(a.accountId, { kind: "management", name: "management" })).plaintext;
  });
  afterAll(() => t?.close());

  const badInput = (message: string) => ({ message, extensions: expect.objectContaining({ code: "BAD_USER_INPUT", metadata: { param: "after" } }) });

  it("transactions: a cursor of another list, and one whose position is not a ledger entry id", async () => {
    expect(await error(TransactionsDocument, { after: cursor("generations", "1") }, a.key)).toMatchObject(
      badInput("after: not a cursor of this list (transactions)."),
    );
    expect(await error(TransactionsDocument, { after: cursor("transactions", "12abc") }, a.key)).toMatchObject(
      badInput("after: not a cursor of this list."),
    );
    expect(await error(TransactionsDocument, { after: cursor("transactions", -1) }, a.key)).toMatchObject(
      badInput("after: not a cursor of this list."),
    );
  });

  it("generations: a cursor of another list, one whose time is not a date, and one without an id", async () => {
    expect(await error(GenerationsDocument, { after: cursor("transactions", "1") }, a.key)).toMatchObject(
      badInput("after: not a cursor of this list (generations)."),
    );
    expect(await error(GenerationsDocument, { after: cursor("generations", "yesterday", "gen-1") }, a.key)).toMatchObject(
      badInput("after: not a cursor of this list."),
    );
    expect(await error(GenerationsDocument, { after: cursor("generations", "2026-01-01T00:00:00.000000Z") }, a.key)).toMatchObject(
      badInput("after: not a cursor of this list."),
    );
  });

  it("keys: a cursor whose position is before the first key", async () => {
    expect(await error(KeysDocument, { after: cursor("keys", -2) }, management)).toMatchObject(badInput("after: not a cursor of this list."));
    expect(await error(KeysDocument, { after: cursor("keys", "x") }, management)).toMatchObject(badInput("after: not a cursor of this list."));
  });
});
