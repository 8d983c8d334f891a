/**
 * The life of one delivery: queued → sending → sent → delivered → read, or failed / skipped with
 * a reason. Provider callbacks arrive late, twice and out of order (a "read" before its
 * "delivered"), so a status only ever moves forward; failed and skipped are final unless the
 * provider later proves the message arrived (a "delivered" after a timed-out send).
 */

export const DELIVERY_STATUSES = [
  "queued",
  "sending",
  "sent",
  "delivered",
  "read",
  "failed",
  "skipped",
] as const;
export type DeliveryStatus = typeof DELIVERY_STATUSES[number];

const RANK: Record<DeliveryStatus, number> = {
  queued: 0,
  sending: 1,
  failed: 2,
  skipped: 2,
  sent: 3,
  delivered: 4,
  read: 5,
};

/** Whether a delivery at `from` may move to `to`. */
export function canMove(from: DeliveryStatus, to: DeliveryStatus): boolean {
  if (from === to) return false;
  if (from === "skipped") return false;
  // A retry after a failed attempt goes back to sending; evidence of arrival beats a failure.
  if (from === "failed") return to === "sending" || RANK[to] > RANK.sent - 1;
  if (to === "failed" || to === "skipped") return RANK[from] <= RANK.sending;
  return RANK[to] > RANK[from];
}

/**
 * SQL condition (over the column `status`) true when the row may move to `to`: the same rule as
 * {@link canMove}, applied inside the update so concurrent callbacks cannot move a row backwards.
 */
export function movableSql(to: DeliveryStatus): string {
  const from = DELIVERY_STATUSES.filter((s) => canMove(s, to));
  return from.length ? `status in (${from.map((s) => `'${s}'`).join(", ")})` : "false";
}

/** The timestamp column a status sets, if any. */
export function stampColumn(to: DeliveryStatus): string | undefined {
  switch (to) {
    case "sent":
      return "sent_at";
    case "delivered":
      return "delivered_at";
    case "read":
      return "read_at";
    case "failed":
    case "skipped":
      return "finished_at";
    default:
      return undefined;
  }
}
