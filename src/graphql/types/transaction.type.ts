import { Field, ID, ObjectType } from "type-graphql";
import type { LedgerKind } from "../../billing/ledger-entry.entity.js";
import type { Money } from "../../billing/money.js";
import { MoneyScalar } from "../money.scalar.js";
import type { LedgerRow } from "../records/ledger.js";
import { ConnectionType } from "./connection.type.js";
import { LedgerKindEnum } from "./enums.type.js";

@ObjectType("CreditTransaction", { description: "One entry of the account's append-only ledger." })
export class CreditTransactionType {
  @Field(() => ID)
  id!: string;

  @Field(() => LedgerKindEnum)
  kind!: LedgerKind;

  @Field(() => MoneyScalar, { description: "Signed: credits positive, debits negative." })
  amount!: Money;

  @Field(() => MoneyScalar, { description: "The balance right after this entry." })
  balanceAfter!: Money;

  @Field(() => String, { nullable: true, description: "What the entry records: a generation id, a Stripe payment, a grant." })
  reference!: string | null;

  @Field(() => String)
  description!: string;

  @Field(() => Date)
  createdAt!: Date;

  /** The owning account, for field-level checks; not a GraphQL field. */
  accountId!: string;

  static from(row: LedgerRow): CreditTransactionType {
    return Object.assign(new CreditTransactionType(), {
      id: row.id.toString(),
      kind: row.kind,
      amount: row.amount,
      balanceAfter: row.balance_after,
      reference: row.reference,
      description: row.description,
      createdAt: row.created_at,
      accountId: row.account_id,
    });
  }
}

export const CreditTransactionConnection = ConnectionType("CreditTransaction", CreditTransactionType);
