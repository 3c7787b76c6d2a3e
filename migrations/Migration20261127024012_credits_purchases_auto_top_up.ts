import { Migration } from '@mikro-orm/migrations';

export class Migration20261127024012_credits_purchases_auto_top_up extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "credit_purchase" ("id" uuid not null, "account_id" uuid not null, "kind" text check ("kind" in ('checkout', 'auto_top_up')) not null, "status" text check ("status" in ('pending', 'completed', 'failed', 'expired')) not null default 'pending', "amount" bigint not null, "fee" bigint not null, "stripe_checkout_session_id" text null, "stripe_payment_intent_id" text null, "error" text null, "created_at" timestamptz not null default now(), "completed_at" timestamptz null, constraint "credit_purchase_pkey" primary key ("id"));`);
    this.addSql(`alter table "credit_purchase" add constraint "credit_purchase_stripe_checkout_session_id_unique" unique ("stripe_checkout_session_id");`);
    this.addSql(`alter table "credit_purchase" add constraint "credit_purchase_stripe_payment_intent_id_unique" unique ("stripe_payment_intent_id");`);
    this.addSql(`create index "credit_purchase_account_id_created_at_index" on "credit_purchase" ("account_id", "created_at");`);

    this.addSql(`alter table "credit_purchase" add constraint "credit_purchase_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "account" add column "stripe_customer_id" text null, add column "stripe_payment_method_id" text null, add column "auto_top_up_enabled" boolean not null default false, add column "auto_top_up_threshold" bigint null, add column "auto_top_up_amount" bigint null, add column "auto_top_up_pending" uuid null, add column "auto_top_up_pending_since" timestamptz null, add column "auto_top_up_failures" int not null default 0, add column "auto_top_up_last_error" text null, add column "auto_top_up_last_error_at" timestamptz null;`);
    this.addSql(`alter table "account" add constraint "account_stripe_customer_id_unique" unique ("stripe_customer_id");`);

    this.addSql(`create index "ledger_entry_non_usage_index" on "ledger_entry" ("account_id", "id") where "kind" <> 'usage';`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "credit_purchase" cascade;`);

    this.addSql(`alter table "account" drop constraint "account_stripe_customer_id_unique";`);
    this.addSql(`alter table "account" drop column "stripe_customer_id", drop column "stripe_payment_method_id", drop column "auto_top_up_enabled", drop column "auto_top_up_threshold", drop column "auto_top_up_amount", drop column "auto_top_up_pending", drop column "auto_top_up_pending_since", drop column "auto_top_up_failures", drop column "auto_top_up_last_error", drop column "auto_top_up_last_error_at";`);

    this.addSql(`drop index "ledger_entry_non_usage_index";`);
  }

}
