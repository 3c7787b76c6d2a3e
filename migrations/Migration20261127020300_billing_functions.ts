import { Migration } from "@mikro-orm/migrations";

/**
 * Billing statements that must be atomic and cheap: each is one function call, so one round trip and one statement
 * (a failure anywhere rolls the whole call back). Row locks are always taken in the same order, account then key,
 * so concurrent holds and settlements cannot deadlock.
 *
 * Money is bigint picodollars throughout (see src/billing/money.ts).
 */
export class Migration20261127020300_billing_functions extends Migration {
  override async up(): Promise<void> {
    // A key's usage within its current limit period (UTC day, ISO week from Monday, month); all-time without a reset.
    this.addSql(`
create or replace function sy_key_period_usage(k api_key, today date) returns bigint
language sql stable as $fn$
  select case k.limit_reset
    when 'daily' then case when k.usage_day = today then k.usage_daily else 0 end
    when 'weekly' then case when k.usage_week = date_trunc('week', today)::date then k.usage_weekly else 0 end
    when 'monthly' then case when k.usage_month = date_trunc('month', today)::date then k.usage_monthly else 0 end
    else k.usage
  end
$fn$;`);

    // Appends one ledger entry and moves the balance with it. A repeated (kind, reference) raises unique_violation
    // (SQLSTATE 23505) and changes nothing: this is what makes webhook credits exactly-once.
    this.addSql(`
create or replace function sy_post_ledger(p_account uuid, p_kind text, p_amount bigint, p_reference text, p_description text)
returns bigint language plpgsql as $fn$
declare
  new_balance bigint;
begin
  update account set balance = balance + p_amount where id = p_account returning balance into new_balance;
  if not found then
    raise exception 'account % does not exist', p_account using errcode = 'no_data_found';
  end if;
  insert into ledger_entry (account_id, kind, amount, balance_after, reference, description)
  values (p_account, p_kind, p_amount, new_balance, p_reference, coalesce(p_description, ''));
  return new_balance;
end
$fn$;`);

    // Places (or resizes) a credit hold against the account's available balance and the key's limit.
    // Outcome: 'ok' | 'negative_balance' | 'credits' | 'key_limit' | 'no_account'; \`available\` is what could have
    // been held for this request (balance or key headroom, counting this hold's previous amount).
    this.addSql(`
create or replace function sy_place_hold(p_hold uuid, p_account uuid, p_key char(64), p_amount bigint, p_ttl_ms integer)
returns table (outcome text, available bigint) language plpgsql as $fn$
declare
  previous bigint;
  delta bigint;
  a account%rowtype;
  k api_key%rowtype;
  key_headroom bigint;
begin
  select * into a from account where id = p_account for update;
  if not found then
    return query select 'no_account'::text, 0::bigint;
    return;
  end if;
  select amount into previous from credit_hold where id = p_hold;
  previous := coalesce(previous, 0);
  delta := p_amount - previous;
  if a.balance < 0 then
    return query select 'negative_balance'::text, a.balance - a.held + previous;
    return;
  end if;
  if delta > 0 and a.balance - a.held < delta then
    return query select 'credits'::text, a.balance - a.held + previous;
    return;
  end if;
  if p_key is not null then
    select * into k from api_key where hash = p_key for update;
    if found and k."limit" is not null then
      key_headroom := k."limit" - sy_key_period_usage(k, (now() at time zone 'utc')::date) - k.held;
      if key_headroom < 0 or (delta > 0 and key_headroom < delta) then
        return query select 'key_limit'::text, key_headroom + previous;
        return;
      end if;
    end if;
    update api_key set held = held + delta where hash = p_key;
  end if;
  update account set held = held + delta where id = p_account;
  insert into credit_hold (id, account_id, key_hash, amount, expires_at)
  values (p_hold, p_account, p_key, p_amount, now() + make_interval(secs => p_ttl_ms / 1000.0))
  on conflict (id) do update set amount = excluded.amount, expires_at = excluded.expires_at;
  return query select 'ok'::text, a.balance - a.held - delta;
end
$fn$;`);

    // Settles a request: releases its hold, debits the cost (a 'usage' ledger entry when non-zero), adds the cost to
    // the key's usage counters and inserts the generation record (given as JSON), all in one statement. A hold already
    // released by the reaper releases nothing; a repeated generation id raises and changes nothing.
    this.addSql(`
create or replace function sy_settle(p_hold uuid, p_account uuid, p_key char(64), p_cost bigint, p_description text, p_generation jsonb)
returns bigint language plpgsql as $fn$
declare
  released bigint;
  new_balance bigint;
  today date := (now() at time zone 'utc')::date;
begin
  perform 1 from account where id = p_account for update;
  delete from credit_hold where id = p_hold returning amount into released;
  released := coalesce(released, 0);
  update account set held = held - released, balance = balance - p_cost where id = p_account returning balance into new_balance;
  if p_key is not null then
    update api_key set
      held = held - released,
      usage = usage + p_cost,
      usage_daily = (case when usage_day = today then usage_daily else 0 end) + p_cost,
      usage_day = today,
      usage_weekly = (case when usage_week = date_trunc('week', today)::date then usage_weekly else 0 end) + p_cost,
      usage_week = date_trunc('week', today)::date,
      usage_monthly = (case when usage_month = date_trunc('month', today)::date then usage_monthly else 0 end) + p_cost,
      usage_month = date_trunc('month', today)::date
    where hash = p_key;
  end if;
  if p_cost <> 0 then
    insert into ledger_entry (account_id, kind, amount, balance_after, reference, description)
    values (p_account, 'usage', -p_cost, new_balance, p_generation->>'id', coalesce(p_description, ''));
  end if;
  if p_generation is not null then
    insert into generation select * from jsonb_populate_record(null::generation, p_generation);
  end if;
  return new_balance;
end
$fn$;`);

    // Releases a hold without a charge (every attempt failed, or nothing was generated).
    this.addSql(`
create or replace function sy_release_hold(p_hold uuid) returns void language plpgsql as $fn$
declare
  h credit_hold%rowtype;
begin
  select * into h from credit_hold where id = p_hold;
  if not found then
    return;
  end if;
  perform 1 from account where id = h.account_id for update;
  delete from credit_hold where id = p_hold;
  update account set held = held - h.amount where id = h.account_id;
  if h.key_hash is not null then
    update api_key set held = held - h.amount where hash = h.key_hash;
  end if;
end
$fn$;`);

    // Releases holds whose process died (expired). Returns how many were released.
    this.addSql(`
create or replace function sy_reap_holds() returns integer language plpgsql as $fn$
declare
  h record;
  n integer := 0;
begin
  for h in select id from credit_hold where expires_at < now() order by account_id loop
    perform sy_release_hold(h.id);
    n := n + 1;
  end loop;
  return n;
end
$fn$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop function if exists sy_reap_holds();`);
    this.addSql(`drop function if exists sy_release_hold(uuid);`);
    this.addSql(`drop function if exists sy_settle(uuid, uuid, char(64), bigint, text, jsonb);`);
    this.addSql(`drop function if exists sy_place_hold(uuid, uuid, char(64), bigint, integer);`);
    this.addSql(`drop function if exists sy_post_ledger(uuid, text, bigint, text, text);`);
    this.addSql(`drop function if exists sy_key_period_usage(api_key, date);`);
  }
}
