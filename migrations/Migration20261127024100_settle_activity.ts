import { Migration } from "@mikro-orm/migrations";

/**
 * Settlement also keeps the daily activity roll-up (`activity_day`) in step, in the same statement, so usage by day,
 * model, provider and key reads a handful of rows however many generations there are.
 */
export class Migration20261127024100_settle_activity extends Migration {
  override async up(): Promise<void> {
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
    insert into activity_day as a (account_id, day, key_hash, model, provider, requests, prompt_tokens, completion_tokens, reasoning_tokens, cost)
    values (p_account, today, coalesce(p_key, ''), p_generation->>'model', p_generation->>'provider', 1,
            (p_generation->>'tokens_prompt')::bigint, (p_generation->>'tokens_completion')::bigint,
            (p_generation->>'tokens_reasoning')::bigint, p_cost)
    on conflict (account_id, day, key_hash, model, provider) do update set
      requests = a.requests + 1,
      prompt_tokens = a.prompt_tokens + excluded.prompt_tokens,
      completion_tokens = a.completion_tokens + excluded.completion_tokens,
      reasoning_tokens = a.reasoning_tokens + excluded.reasoning_tokens,
      cost = a.cost + excluded.cost;
  end if;
  return new_balance;
end
$fn$;`);
  }

  override async down(): Promise<void> {
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
  }
}
