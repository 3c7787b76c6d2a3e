import { Field, ID, Int, ObjectType } from "type-graphql";
import type { PrivacySettings } from "../../accounts/privacy.service.js";
import type { AutoTopUpStatus, AutoTopUpView } from "../../billing/auto-top-up.service.js";
import type { CheckoutSession } from "../../billing/purchases.service.js";
import type { Money } from "../../billing/money.js";
import { MoneyScalar } from "../money.scalar.js";
import type { AccountRow, UserRow } from "../records/accounts.js";
import { AutoTopUpStatusEnum } from "./enums.type.js";

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

  static from(row: AccountRow): AccountType {
    return Object.assign(new AccountType(), { id: row.id, name: row.name, balance: row.balance, held: row.held, createdAt: row.created_at });
  }
}

@ObjectType("User", { description: "A person who signs in to the account's dashboard." })
export class UserType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  email!: string;

  @Field(() => Date)
  createdAt!: Date;

  static from(row: UserRow): UserType {
    return Object.assign(new UserType(), { id: row.id, email: row.email, createdAt: row.created_at });
  }
}

@ObjectType("Credits", { description: "Credits bought or granted, and what usage has spent: `totalCredits - totalUsage = balance`." })
export class CreditsType {
  @Field(() => MoneyScalar, { description: "Purchases (net of fees), auto top-ups, grants and refunds, minus expiries." })
  totalCredits!: Money;

  @Field(() => MoneyScalar)
  totalUsage!: Money;

  @Field(() => MoneyScalar)
  balance!: Money;

  static from(totals: { totalCredits: Money; totalUsage: Money; balance: Money }): CreditsType {
    return Object.assign(new CreditsType(), totals);
  }
}

@ObjectType("PrivacySettings", { description: "Which providers may serve the account, and whether its prompts are logged." })
export class PrivacySettingsType {
  @Field(() => Boolean, { description: "Paid endpoints whose provider may train on prompts." })
  allowTraining!: boolean;

  @Field(() => Boolean, { description: "Free endpoints whose provider may train on prompts." })
  allowFreeTraining!: boolean;

  @Field(() => Boolean, { description: "Endpoints whose provider retains prompts (anything short of zero data retention)." })
  allowRetention!: boolean;

  @Field(() => [String], { nullable: true, description: "When set, only these providers (slugs or `provider/tag`s) may serve the account." })
  allowedProviders!: string[] | null;

  @Field(() => [String])
  ignoredProviders!: string[];

  @Field(() => Boolean, { description: "Store prompt and completion text with each generation, for a 1% discount on usage." })
  logPrompts!: boolean;

  static from(settings: PrivacySettings): PrivacySettingsType {
    return Object.assign(new PrivacySettingsType(), settings);
  }
}

@ObjectType("AutoTopUp", { description: "Charging the saved card when a settlement leaves the balance below the threshold." })
export class AutoTopUpType {
  @Field(() => Boolean)
  enabled!: boolean;

  @Field(() => MoneyScalar, { nullable: true })
  threshold!: Money | null;

  @Field(() => MoneyScalar, { nullable: true, description: "Credits bought per top-up." })
  amount!: Money | null;

  @Field(() => MoneyScalar, { nullable: true, description: "The platform fee charged on top of `amount`." })
  fee!: Money | null;

  @Field(() => String, { nullable: true })
  paymentMethodId!: string | null;

  @Field(() => AutoTopUpStatusEnum)
  status!: AutoTopUpStatus;

  @Field(() => Int)
  consecutiveFailures!: number;

  @Field(() => Int, { description: "Auto top-up pauses after this many failures in a row, until the settings are saved again." })
  maxFailures!: number;

  @Field(() => String, { nullable: true })
  lastError!: string | null;

  @Field(() => Date, { nullable: true })
  lastErrorAt!: Date | null;

  static from(view: AutoTopUpView): AutoTopUpType {
    return Object.assign(new AutoTopUpType(), view);
  }
}

@ObjectType("CheckoutSession", { description: "A Stripe Checkout page that buys credits; the account is credited when Stripe confirms the payment." })
export class CheckoutSessionType {
  @Field(() => String, { description: "Send the buyer here." })
  url!: string;

  @Field(() => String)
  sessionId!: string;

  @Field(() => MoneyScalar, { description: "Credits bought." })
  amount!: Money;

  @Field(() => MoneyScalar, { description: "The platform fee, charged on top." })
  fee!: Money;

  @Field(() => MoneyScalar, { description: "What the buyer pays." })
  total!: Money;

  static from(session: CheckoutSession): CheckoutSessionType {
    return Object.assign(new CheckoutSessionType(), { url: session.url, sessionId: session.sessionId, ...session.quote });
  }
}

@ObjectType("BalanceEvent", { description: "The account's balance moved (a settlement, a purchase, a grant)." })
export class BalanceEventType {
  @Field(() => ID)
  accountId!: string;

  @Field(() => MoneyScalar)
  balance!: Money;
}
