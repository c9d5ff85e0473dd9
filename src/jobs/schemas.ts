import Type, { type Static, type StaticDecode, type TObject } from 'typebox';
import { accountId, carrierCode, digitId, isSplit, subTids, text, vvtype, waybillNo } from './fields.js';
import type { JobName } from './names.js';

/** Payload fields of each job (beside `account`), in the order they are documented and checked. */
const vvtoolSendFields = {
  tid: digitId('Taobao trade id'),
  shop_id: text('Shop id'),
  out_sid: waybillNo('Waybill number'),
  company_code: carrierCode('Carrier code'),
  sub_tid: Type.Optional(subTids('Sub-order ids to ship in a split shipment; kept and sent as given')),
  is_split: Type.Optional(isSplit()),
  sender_id: Type.Optional(digitId('Sender address id (the seller default when absent)')),
  cancel_id: Type.Optional(digitId('Return address id (the seller default when absent)')),
  feature: Type.Optional(text('Feature string, e.g. identCode=tid:aaa,bbb')),
  vvtype: Type.Optional(vvtype()),
};

const damaijiaDeliveryFields = {
  seller_nick: text('Seller nick'),
  order_no: text('Order number'),
  wp_code: carrierCode('Carrier code'),
  waybill_no: waybillNo('Waybill number'),
};

const damaijiaSyncFields = {
  orderSns: text('Order number to synchronise'),
  ownerId: text('Merchant (owner) id'),
};

/** The payload fields of each job, for code that needs their names (unknown and foreign field messages). */
export const PAYLOAD_FIELDS: Readonly<Record<JobName, readonly string[]>> = {
  'vvtool.send': Object.keys(vvtoolSendFields),
  'damaijia.delivery': Object.keys(damaijiaDeliveryFields),
  'damaijia.sync': Object.keys(damaijiaSyncFields),
};

/**
 * Unknown fields are refused. `is_split` and `sub_tid` come together or not at all: draft-07
 * `dependencies`, because Fastify's Ajv (draft-07, strict) refuses `dependentRequired`.
 */
const closed = { additionalProperties: false } as const;
const paired = { ...closed, dependencies: { is_split: ['sub_tid'], sub_tid: ['is_split'] } };

const account = accountId();

const vvtoolSend = Type.Object(
  { account, ...vvtoolSendFields },
  {
    ...paired,
    title: 'vvtool.send job',
    description:
      'A vv-tool offline-logistics shipment (queue "ship"): the body of POST /v1/ship for a vvtool account, and the data of a vvtool.send job.',
  },
);

const damaijiaDelivery = Type.Object(
  { account, ...damaijiaDeliveryFields },
  {
    ...closed,
    title: 'damaijia.delivery job',
    description:
      'A damaijia store back-office delivery (queue "ship"): the body of POST /v1/ship for a damaijia account, and the data of a damaijia.delivery job.',
  },
);

const damaijiaSync = Type.Object(
  { account, ...damaijiaSyncFields },
  {
    ...closed,
    title: 'damaijia.sync job',
    description:
      'A damaijia order synchronisation (queue "sync"): the body of POST /v1/sync (damaijia accounts only), and the data of a damaijia.sync job.',
  },
);

const shipRequest = Type.Union([vvtoolSend, damaijiaDelivery], {
  title: 'Ship request',
  description:
    'POST /v1/ship: an account and the payload of its provider (vvtool: vvtool.send fields; damaijia: damaijia.delivery fields).',
});

const syncRequest = damaijiaSync;

export const MAX_BATCH_JOBS = 1000;

const batchRequest = Type.Object(
  {
    jobs: Type.Array(
      Type.Union([
        Type.Object({ type: Type.Literal('ship'), account, ...vvtoolSendFields }, paired),
        Type.Object({ type: Type.Literal('ship'), account, ...damaijiaDeliveryFields }, closed),
        Type.Object({ type: Type.Literal('sync'), account, ...damaijiaSyncFields }, closed),
      ]),
      { maxItems: MAX_BATCH_JOBS },
    ),
  },
  {
    ...closed,
    title: 'Batch request',
    description: `POST /v1/batch: up to ${MAX_BATCH_JOBS} ship or sync requests, each with its "type"; all are validated before any is enqueued.`,
  },
);

/** The TypeBox schemas: Fastify body schemas, the source of the JSON Schema files, and the validators' rules. */
export const schemas = {
  'vvtool.send': vvtoolSend,
  'damaijia.delivery': damaijiaDelivery,
  'damaijia.sync': damaijiaSync,
  shipRequest,
  syncRequest,
  batchRequest,
} as const;

/** Validated payloads (ids decoded to digit strings). */
export type VvtoolSend = StaticDecode<TObject<typeof vvtoolSendFields>>;
export type DamaijiaDelivery = StaticDecode<TObject<typeof damaijiaDeliveryFields>>;
export type DamaijiaSync = StaticDecode<TObject<typeof damaijiaSyncFields>>;

/** Types follow the job name. */
export interface JobPayloads {
  'vvtool.send': VvtoolSend;
  'damaijia.delivery': DamaijiaDelivery;
  'damaijia.sync': DamaijiaSync;
}

/** What BullMQ `job.data` holds. */
export type JobData<N extends JobName = JobName> = { account: string } & JobPayloads[N];

/** The bodies as they arrive on the wire (ids may still be JSON numbers). */
export type ShipRequestBody = Static<typeof shipRequest>;
export type SyncRequestBody = Static<typeof syncRequest>;
export type BatchRequestBody = Static<typeof batchRequest>;
