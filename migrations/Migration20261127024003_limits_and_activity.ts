import { Migration } from '@mikro-orm/migrations';

export class Migration20261127024003_limits_and_activity extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "activity_day" ("account_id" uuid not null, "day" date not null, "key_hash" varchar(64) not null, "model" text not null, "provider" text not null, "requests" int not null default 0, "prompt_tokens" bigint not null default 0, "completion_tokens" bigint not null default 0, "reasoning_tokens" bigint not null default 0, "cost" bigint not null default 0, constraint "activity_day_pkey" primary key ("account_id", "day", "key_hash", "model", "provider"));`);

    this.addSql(`create table "rate_limit_counter" ("key" varchar(255) not null, "points" int not null default 0, "expire" bigint null, constraint "rate_limit_counter_pkey" primary key ("key"));`);

  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "activity_day" cascade;`);

    this.addSql(`drop table if exists "rate_limit_counter" cascade;`);

  }

}
