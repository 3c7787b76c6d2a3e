import { Migration } from "@mikro-orm/migrations";

/**
 * Credit leases and batched settlement, for a request path without a database round trip.
 *
 * A lease is a credit hold (a `credit_hold` row) that one gateway node places for an account and key and then spends
 * locally, request by request, extending it when it runs short and returning it when idle. It counts in
 * `account.held` and `api_key.held` like any hold, so no two nodes can together reserve more than the account has or
 * the key may spend. Settlements are applied in batches; each debits its cost from the balance and from the lease it
 * was reserved in. A lease whose node died expires and is released by the reaper.
 */
export class Migration20261127030000_credit_leases extends Migration {
  override async up(): Promise<void> {
    // Grows a lease to between p_min and p_want. Beyond p_min it takes at most half of what the account (and the key)
    // would still have free, so one node's reserve never starves the others. Shrinking (p_want at or below the current
    // amount) always succeeds. Outcome as sy_place_hold; `amount` is the lease's new (or, on refusal, unchanged) total;
    // `available` the most it could have been.
    this.addSql(`
create or replace function sy_lease(p_lease uuid, p_account uuid, p_key char(64), p_min bigint, p_want bigint, p_ttl_ms integer)
returns table (outcome text, amount bigint, available bigint) language plpgsql as $fn$
declare
  a account%rowtype;
  k api_key%rowtype;
  current_amount bigint;
  room bigint;
  target bigint;
  delta bigint;
begin
  select * into a from account where id = p_account for update;
  if not found then
    return query select 'no_account'::text, 0::bigint, 0::bigint;
    return;
  end if;
  select h.amount into current_amount from credit_hold h where h.id = p_lease;
  current_amount := coalesce(current_amount, 0);
  room := a.balance - a.held + current_amount;
  if p_key is not null then
    select * into k from api_key where hash = p_key for update;
    if found and k."limit" is not null then
      room := least(room, k."limit" - sy_key_period_usage(k, (now() at time zone 'utc')::date) - k.held + current_amount);
    end if;
  end if;
  if p_want <= current_amount then
    target := greatest(p_want, 0);
  elsif a.balance < 0 then
    return query select 'negative_balance'::text, current_amount, room;
    return;
  elsif room < p_min then
    return query select
      (case when p_key is not null and room < a.balance - a.held + current_amount then 'key_limit' else 'credits' end)::text,
      current_amount, room;
    return;
  else
    target := least(p_want, p_min + (room - p_min) / 2);
  end if;
  delta := target - current_amount;
  update account set held = held + delta where id = p_account;
  if p_key is not null then
    update api_key set held = held + delta where hash = p_key;
  end if;
  insert into credit_hold (id, account_id, key_hash, amount, expires_at)
  values (p_lease, p_account, p_key, target, now() + make_interval(secs => p_ttl_ms / 1000.0))
  on conflict (id) do update set amount = excluded.amount, expires_at = excluded.expires_at;
  return query select 'ok'::text, target, room;
end
$fn$;`);

    // Applies settlements in one statement. Items must come sorted by account (the lock order). Each item is
    // {lease, account, key, cost, description, generation}; an item whose generation is already recorded is skipped,
    // so replaying a batch (after a crash) never charges twice. Returns each touched account's final balance.
    this.addSql(`
create or replace function sy_settle_batch(p_items jsonb)
returns table (account_id uuid, balance bigint) language plpgsql as $fn$
declare
  item jsonb;
  acct uuid;
  key_hash char(64);
  cost bigint;
  released bigint;
  lease_amount bigint;
  new_balance bigint;
  gen jsonb;
  today date := (now() at time zone 'utc')::date;
  balances jsonb := '{}'::jsonb;
begin
  for item in select value from jsonb_array_elements(p_items) loop
    acct := (item->>'account')::uuid;
    key_hash := item->>'key';
    cost := (item->>'cost')::bigint;
    gen := item->'generation';
    perform 1 from account where id = acct for update;
    insert into generation select * from jsonb_populate_record(null::generation, gen) on conflict (id) do nothing;
    if not found then
      continue;
    end if;
    -- The cost was reserved in the lease: it leaves the lease (and the held total) as it leaves the balance.
    select h.amount into lease_amount from credit_hold h where h.id = (item->>'lease')::uuid for update;
    released := least(coalesce(lease_amount, 0), greatest(cost, 0));
    if released > 0 then
      update credit_hold set amount = amount - released where id = (item->>'lease')::uuid;
    end if;
    update account set balance = account.balance - cost, held = held - released where id = acct returning account.balance into new_balance;
    if cost <> 0 then
      insert into ledger_entry (account_id, kind, amount, balance_after, reference, description)
      values (acct, 'usage', -cost, new_balance, gen->>'id', coalesce(item->>'description', ''));
    end if;
    if key_hash is not null then
      update api_key set
        held = held - released,
        usage = usage + cost,
        usage_daily = (case when usage_day = today then usage_daily else 0 end) + cost,
        usage_day = today,
        usage_weekly = (case when usage_week = date_trunc('week', today)::date then usage_weekly else 0 end) + cost,
        usage_week = date_trunc('week', today)::date,
        usage_monthly = (case when usage_month = date_trunc('month', today)::date then usage_monthly else 0 end) + cost,
        usage_month = date_trunc('month', today)::date
      where hash = key_hash;
    end if;
    insert into activity_day as d (account_id, day, key_hash, model, provider, requests, prompt_tokens, completion_tokens, reasoning_tokens, cost)
    values (acct, today, coalesce(key_hash, ''), gen->>'model', gen->>'provider', 1,
            (gen->>'tokens_prompt')::bigint, (gen->>'tokens_completion')::bigint, (gen->>'tokens_reasoning')::bigint, cost)
    on conflict on constraint activity_day_pkey do update set
      requests = d.requests + 1,
      prompt_tokens = d.prompt_tokens + excluded.prompt_tokens,
      completion_tokens = d.completion_tokens + excluded.completion_tokens,
      reasoning_tokens = d.reasoning_tokens + excluded.reasoning_tokens,
      cost = d.cost + excluded.cost;
    balances := balances || jsonb_build_object(acct::text, new_balance);
  end loop;
  return query select key::uuid, value::text::bigint from jsonb_each(balances);
end
$fn$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop function if exists sy_settle_batch(jsonb);`);
    this.addSql(`drop function if exists sy_lease(uuid, uuid, char(64), bigint, bigint, integer);`);
  }
}
