import { Field, ID, ObjectType } from "type-graphql";
import type { Money } from "../../billing/money.js";
import { MoneyScalar } from "../money.scalar.js";

@ObjectType("Account", { description: "The caller's account: its credits and settings." })
export class AccountType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => MoneyScalar, { description: "Credits: the sum of the account's ledger entries." })
  balance!: Money;

  @Field(() => MoneyScalar, { description: "Credits reserved by requests in flight." })
  held!: Money;

  @Field(() => Date)
  createdAt!: Date;
}
