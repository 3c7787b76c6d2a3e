import { formatUsd, parseUsd, type Money } from "./money.js";

/** Why a Stripe payment was made: a Checkout purchase or an auto top-up. */
export type PaymentPurpose = "checkout" | "auto_top_up";

/**
 * What Switchyard writes into the metadata of every Checkout Session and PaymentIntent it creates, and reads back from
 * the signed webhook to credit the account: whose payment it is, which `credit_purchase` row, and the credits and fee
 * as exact decimal strings (never floats).
 */
export interface PaymentMetadata {
  purpose: PaymentPurpose;
  accountId: string;
  purchaseId: string;
  /** The credits bought. */
  amount: Money;
  /** The platform fee paid on top. */
  fee: Money;
}

export function encodePaymentMetadata(meta: PaymentMetadata): Record<string, string> {
  return {
    switchyard_purpose: meta.purpose,
    account_id: meta.accountId,
    purchase_id: meta.purchaseId,
    credit_amount_usd: formatUsd(meta.amount),
    fee_usd: formatUsd(meta.fee),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The metadata of a payment Switchyard made, or null for anything else (payments of other integrations on the account). */
export function decodePaymentMetadata(metadata: Record<string, string> | null | undefined): PaymentMetadata | null {
  if (!metadata) return null;
  const purpose = metadata.switchyard_purpose;
  if (purpose !== "checkout" && purpose !== "auto_top_up") return null;
  if (!UUID.test(metadata.account_id ?? "") || !UUID.test(metadata.purchase_id ?? "")) return null;
  try {
    const amount = parseUsd(metadata.credit_amount_usd ?? "");
    const fee = parseUsd(metadata.fee_usd ?? "");
    if (amount <= 0n || fee < 0n) return null;
    return { purpose, accountId: metadata.account_id, purchaseId: metadata.purchase_id, amount, fee };
  } catch {
    return null;
  }
}
