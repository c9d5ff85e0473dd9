export { classify } from './classify.js';
export {
  DONE_RESULT,
  isRetryableStatus,
  normaliseMessage,
  OUTCOME_TABLES,
  type OutcomeRow,
  TRANSPORT_REASONS,
} from './tables.js';
export type * from './types.js';
