// The package's entry (`import { … } from 'fulfillment-worker'`): the typed HTTP client a producer
// service uses (docs/library.md). The service itself ships as the image; its modules are internal.
export * from './client/index.js';
