import type { Money } from "../billing/money.js";
import type { LimitReset } from "./api-key.entity.js";

/** A key's stored usage counters, as read from `api_key`. */
export interface KeyCounters {
  limit: Money | null;
  limitReset: LimitReset | null;
  usage: Money;
  usageDaily: Money;
  usageWeekly: Money;
  usageMonthly: Money;
  /** UTC dates (YYYY-MM-DD) that start each counter's period; null before the first usage. */
  usageDay: string | null;
  usageWeek: string | null;
  usageMonth: string | null;
}

export interface KeyUsage {
  usage: Money;
  daily: Money;
  weekly: Money;
  monthly: Money;
  /**
   * Spending left in the current limit period, or null without a limit. Credits reserved for requests (holds, node
   * leases) are not subtracted: they are spent only as far as requests actually cost.
   */
  limitRemaining: Money | null;
}

/**
 * A key's usage now: a period counter whose period has passed reads as zero (the database resets it at the next
 * settlement). Periods are UTC days, ISO weeks starting Monday, and calendar months, as in the `sy_key_period_usage`
 * SQL function.
 */
export function currentKeyUsage(k: KeyCounters, now: Date = new Date()): KeyUsage {
  const periods = utcPeriods(now);
  const daily = k.usageDay === periods.day ? k.usageDaily : 0n;
  const weekly = k.usageWeek === periods.week ? k.usageWeekly : 0n;
  const monthly = k.usageMonth === periods.month ? k.usageMonthly : 0n;
  const periodUsage = k.limitReset === "daily" ? daily : k.limitReset === "weekly" ? weekly : k.limitReset === "monthly" ? monthly : k.usage;
  const remaining = k.limit === null ? null : k.limit - periodUsage;
  return { usage: k.usage, daily, weekly, monthly, limitRemaining: remaining === null ? null : remaining > 0n ? remaining : 0n };
}

export function utcPeriods(now: Date): { day: string; week: string; month: string } {
  const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const weekStart = new Date(day);
  weekStart.setUTCDate(day.getUTCDate() - ((day.getUTCDay() + 6) % 7));
  const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const iso = (d: Date) => d.toISOString().slice(0, 10);
  return { day: iso(day), week: iso(weekStart), month: iso(monthStart) };
}
