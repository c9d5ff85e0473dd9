export {
  type DeliveryOutcome,
  UNDELIVERABLE_KEPT,
  WebhookDeliverer,
  type WebhookDelivererOptions,
  type WebhookObserver,
} from './deliverer.js';
export { oldestUndeliveredMs } from './oldest.js';
export { type SendResult, WebhookSender, webhookBody, webhookId } from './request.js';
export { RETRY_DELAYS_MS, retryDelay } from './schedule.js';
export { type EventDeliveryOptions, startEventDelivery } from './start.js';
