import type { Account, Provider } from '../config/index.js';
import { JOB_NAMES, JOBS } from '../jobs/names.js';
import { createDamaijiaClient } from './damaijia/client.js';
import type {
  DamaijiaDeliveryRequest,
  DamaijiaSyncRequest,
  Operation,
  UpstreamReply,
  VvtoolSendRequest,
} from './types.js';
import { createVvtoolClient } from './vvtool/client.js';

export type { DamaijiaClient } from './damaijia/client.js';
export {
  createDamaijiaClient,
  DAMAIJIA_DELIVERY_PATH,
  DAMAIJIA_SYNC_PATH,
  readDamaijiaBody,
} from './damaijia/client.js';
export { BODY_LIMIT_BYTES, RAW_LIMIT_BYTES } from './transport.js';
export type * from './types.js';
export type { VvtoolClient } from './vvtool/client.js';
export { createVvtoolClient, readVvtoolBody, VVTOOL_SEND_PATH } from './vvtool/client.js';

/** Which provider performs each operation. */
export const OPERATION_PROVIDER: Readonly<Record<Operation, Provider>> = Object.freeze(
  Object.fromEntries(JOB_NAMES.map((name) => [name, JOBS[name].provider])) as Record<Operation, Provider>,
);

/** The request each operation takes. */
export interface OperationRequest {
  'vvtool.send': VvtoolSendRequest;
  'damaijia.delivery': DamaijiaDeliveryRequest;
  'damaijia.sync': DamaijiaSyncRequest;
}

export interface Upstreams {
  /**
   * Performs `operation` with the account's token. Resolves with the reply whatever the upstream did;
   * rejects with a TypeError only for a programming error (unknown operation, or an operation of the
   * other provider than the account's).
   */
  call<O extends Operation>(
    account: Account,
    operation: O,
    request: OperationRequest[O],
  ): Promise<UpstreamReply>;
  /**
   * Opens a connection to each of these providers' upstreams ahead of the first call, so that it is
   * ready when the first slot comes (a new connection to a far upstream takes longer than a slot's
   * tolerance). Sends nothing.
   */
  preconnect(providers: Iterable<Provider>): void;
}

export function createUpstreams(opts: {
  vvtoolBaseUrl: string;
  damaijiaBaseUrl: string;
  timeoutMs: number;
}): Upstreams {
  const vvtool = createVvtoolClient({ baseUrl: opts.vvtoolBaseUrl, timeoutMs: opts.timeoutMs });
  const damaijia = createDamaijiaClient({ baseUrl: opts.damaijiaBaseUrl, timeoutMs: opts.timeoutMs });

  return {
    preconnect(providers) {
      for (const provider of new Set(providers)) (provider === 'vvtool' ? vvtool : damaijia).preconnect();
    },
    async call(account, operation, request) {
      const provider = Object.hasOwn(OPERATION_PROVIDER, operation)
        ? OPERATION_PROVIDER[operation]
        : undefined;
      if (provider === undefined) throw new TypeError(`unknown upstream operation "${String(operation)}"`);
      if (provider !== account.provider) {
        throw new TypeError(
          `operation ${operation} needs a ${provider} account; account "${account.id}" is ${account.provider}`,
        );
      }
      // The generic cannot narrow `request` by `operation`; the map above ties them together.
      switch (operation as Operation) {
        case 'vvtool.send':
          return vvtool.send(account.token, request as VvtoolSendRequest);
        case 'damaijia.delivery':
          return damaijia.delivery(account.token, request as DamaijiaDeliveryRequest);
        case 'damaijia.sync':
          return damaijia.sync(account.token, request as DamaijiaSyncRequest);
      }
    },
  };
}
