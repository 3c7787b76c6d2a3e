import { Migration } from '@mikro-orm/migrations';

export class Migration20261127024104_sessions extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "session" ("token_hash" char(64) not null, "user_id" uuid not null, "account_id" uuid not null, "created_at" timestamptz not null default now(), "expires_at" timestamptz not null, "last_seen_at" timestamptz not null default now(), "user_agent" text null, constraint "session_pkey" primary key ("token_hash"));`);
    this.addSql(`create index "session_account_id_index" on "session" ("account_id");`);
    this.addSql(`create index "session_user_id_index" on "session" ("user_id");`);

    this.addSql(`alter table "session" add constraint "session_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "session" add constraint "session_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "session" cascade;`);
  }

}
