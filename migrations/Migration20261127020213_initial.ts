import { Migration } from '@mikro-orm/migrations';

export class Migration20261127020213_initial extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "account" ("id" uuid not null, "name" text not null, "balance" bigint not null default 0, "held" bigint not null default 0, "allow_training" boolean not null default false, "allow_free_training" boolean not null default true, "allow_retention" boolean not null default true, "allowed_providers" text[] null, "ignored_providers" text[] not null default '{}', "log_prompts" boolean not null default false, "created_at" timestamptz not null default now(), "deleted_at" timestamptz null, constraint "account_pkey" primary key ("id"));`);

    this.addSql(`create table "api_key" ("hash" char(64) not null, "account_id" uuid not null, "name" text not null, "label" text not null, "kind" text check ("kind" in ('inference', 'management')) not null, "disabled" boolean not null default false, "limit" bigint null, "limit_reset" text check ("limit_reset" in ('daily', 'weekly', 'monthly')) null, "usage" bigint not null default 0, "usage_daily" bigint not null default 0, "usage_weekly" bigint not null default 0, "usage_monthly" bigint not null default 0, "usage_day" date null, "usage_week" date null, "usage_month" date null, "held" bigint not null default 0, "expires_at" timestamptz null, "created_at" timestamptz not null default now(), "updated_at" timestamptz null, "creator_user_id" uuid null, constraint "api_key_pkey" primary key ("hash"));`);
    this.addSql(`create index "api_key_account_id_index" on "api_key" ("account_id");`);

    this.addSql(`create table "credit_hold" ("id" uuid not null, "account_id" uuid not null, "key_hash" char(64) null, "amount" bigint not null, "created_at" timestamptz not null default now(), "expires_at" timestamptz not null, constraint "credit_hold_pkey" primary key ("id"));`);
    this.addSql(`create index "credit_hold_expires_at_index" on "credit_hold" ("expires_at");`);

    this.addSql(`create table "generation" ("id" text not null, "account_id" uuid not null, "key_hash" char(64) null, "model" text not null, "provider" text not null, "endpoint_id" text not null, "upstream_id" text null, "api_type" text not null, "streamed" boolean not null, "cancelled" boolean not null, "finish_reason" text null, "native_finish_reason" text null, "tokens_prompt" int not null, "tokens_completion" int not null, "tokens_reasoning" int not null default 0, "tokens_cached" int not null default 0, "tokens_cache_write" int not null default 0, "usage_counted" boolean not null default false, "cost" bigint not null, "latency_ms" int null, "generation_time_ms" int null, "attempts" jsonb not null default '[]', "num_search_results" int not null default 0, "prompt_text" text null, "completion_text" text null, "created_at" timestamptz not null default now(), constraint "generation_pkey" primary key ("id"));`);
    this.addSql(`create index "generation_key_hash_created_at_index" on "generation" ("key_hash", "created_at");`);
    this.addSql(`create index "generation_account_id_created_at_index" on "generation" ("account_id", "created_at");`);

    this.addSql(`create table "ledger_entry" ("id" bigserial primary key, "account_id" uuid not null, "kind" text check ("kind" in ('purchase', 'purchase_fee', 'grant', 'usage', 'refund', 'expiry', 'adjustment', 'auto_top_up', 'forfeit')) not null, "amount" bigint not null, "balance_after" bigint not null, "reference" text null, "description" text not null default '', "created_at" timestamptz not null default now());`);
    this.addSql(`create index "ledger_entry_account_id_id_index" on "ledger_entry" ("account_id", "id");`);
    this.addSql(`alter table "ledger_entry" add constraint "ledger_entry_kind_reference_unique" unique ("kind", "reference");`);

    this.addSql(`create table "model" ("id" text not null, "name" text not null, "description" text not null default '', "context_length" int not null, "input_modalities" text[] not null default '{text}', "output_modalities" text[] not null default '{text}', "tokenizer" text not null default 'Other', "instruct_type" text null, "hugging_face_id" text null, "default_parameters" jsonb null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint "model_pkey" primary key ("id"));`);

    this.addSql(`create table "provider" ("slug" text not null, "name" text not null, "adapter" text not null, "base_url" text null, "base_url_env" text null, "api_key_env" text null, "data_policy" jsonb null, "privacy_policy_url" text null, "terms_of_service_url" text null, "status_page_url" text null, "headquarters" text null, "datacenters" text[] not null default '{}', "supports_cancellation" boolean not null default true, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint "provider_pkey" primary key ("slug"));`);

    this.addSql(`create table "model_endpoint" ("id" text not null, "model_id" text not null, "provider_slug" text not null, "tag" text not null, "variant" text not null, "upstream_model" text not null, "context_length" int not null, "max_completion_tokens" int null, "max_prompt_tokens" int null, "quantization" text null, "price_prompt" bigint not null, "price_completion" bigint not null, "price_request" bigint not null default 0, "price_image" bigint not null default 0, "price_reasoning" bigint null, "price_cache_read" bigint null, "price_cache_write" bigint null, "price_web_search" bigint not null default 0, "supported_parameters" text[] not null default '{}', "input_modalities" text[] null, "data_policy" jsonb null, "moderated" boolean not null default false, "status" int not null default 0, "simulation" jsonb null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint "model_endpoint_pkey" primary key ("id"));`);
    this.addSql(`alter table "model_endpoint" add constraint "model_endpoint_model_id_variant_tag_unique" unique ("model_id", "variant", "tag");`);

    this.addSql(`create table "app_user" ("id" uuid not null, "account_id" uuid not null, "email" text not null, "password_hash" text null, "created_at" timestamptz not null default now(), constraint "app_user_pkey" primary key ("id"));`);
    this.addSql(`alter table "app_user" add constraint "app_user_email_unique" unique ("email");`);

    this.addSql(`alter table "api_key" add constraint "api_key_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "credit_hold" add constraint "credit_hold_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "generation" add constraint "generation_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "ledger_entry" add constraint "ledger_entry_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "model_endpoint" add constraint "model_endpoint_model_id_foreign" foreign key ("model_id") references "model" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "model_endpoint" add constraint "model_endpoint_provider_slug_foreign" foreign key ("provider_slug") references "provider" ("slug") on update cascade on delete cascade;`);

    this.addSql(`alter table "app_user" add constraint "app_user_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "api_key" drop constraint "api_key_account_id_foreign";`);

    this.addSql(`alter table "credit_hold" drop constraint "credit_hold_account_id_foreign";`);

    this.addSql(`alter table "generation" drop constraint "generation_account_id_foreign";`);

    this.addSql(`alter table "ledger_entry" drop constraint "ledger_entry_account_id_foreign";`);

    this.addSql(`alter table "app_user" drop constraint "app_user_account_id_foreign";`);

    this.addSql(`alter table "model_endpoint" drop constraint "model_endpoint_model_id_foreign";`);

    this.addSql(`alter table "model_endpoint" drop constraint "model_endpoint_provider_slug_foreign";`);

    this.addSql(`drop table if exists "account" cascade;`);

    this.addSql(`drop table if exists "api_key" cascade;`);

    this.addSql(`drop table if exists "credit_hold" cascade;`);

    this.addSql(`drop table if exists "generation" cascade;`);

    this.addSql(`drop table if exists "ledger_entry" cascade;`);

    this.addSql(`drop table if exists "model" cascade;`);

    this.addSql(`drop table if exists "provider" cascade;`);

    this.addSql(`drop table if exists "model_endpoint" cascade;`);

    this.addSql(`drop table if exists "app_user" cascade;`);
  }

}
