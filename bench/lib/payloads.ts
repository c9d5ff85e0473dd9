import { randomInt } from 'node:crypto';

/** A vvtool.send payload: the fields the product validates and the sandbox's order book ships once. */
export interface Shipment {
  readonly account: string;
  readonly tid: string;
  readonly shop_id: string;
  readonly out_sid: string;
  readonly company_code: string;
  readonly feature?: string;
}

// Trade ids unique across the whole run (the sandbox ships a trade once): a random base per run
// plus a counter, 15 digits.
const base = String(randomInt(100_000, 999_999));
let counter = 0;

/**
 * The next shipment for `account`. `padTo` grows the JSON of the payload to about that many bytes with
 * a `feature` string (a real optional field, sent upstream like the rest).
 */
export function nextShipment(account: string, padTo = 0): Shipment {
  counter += 1;
  const tid = `${base}${String(counter).padStart(9, '0')}`;
  const shipment: Shipment = {
    account,
    tid,
    shop_id: 'bench-shop',
    out_sid: `YT${tid}`,
    company_code: 'YTO',
  };
  if (padTo <= 0) return shipment;
  const room = padTo - JSON.stringify(shipment).length - ',"feature":""'.length;
  return room > 0
    ? { ...shipment, feature: `identCode=tid:${'x'.repeat(Math.max(0, room - 14))}` }
    : shipment;
}

/** `perAccount` shipments for each account, interleaved (a, b, c, a, b, c, …) as real traffic would be. */
export function interleaved(accounts: readonly string[], perAccount: number, padTo = 0): Shipment[] {
  const out: Shipment[] = [];
  for (let i = 0; i < perAccount; i++) for (const account of accounts) out.push(nextShipment(account, padTo));
  return out;
}

/** The product's idempotency key of a shipment (docs/design.md), used as the job id by the bare baselines too. */
export function shipmentJobId(shipment: Shipment): string {
  return `vvtool.${shipment.account}.${shipment.tid}.all.${shipment.out_sid}`;
}

/** The form fields of the vv-tool call, as the product sends them. */
export function formFields(shipment: Shipment): Record<string, string> {
  const { account: _account, ...fields } = shipment;
  return fields;
}
