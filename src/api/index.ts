export { constantTimeEqual, matchesSecret } from './auth.js';
export { BOARD_PATH } from './board.js';
export { type ErrorBody, errorReply, HttpError } from './errors.js';
export { DOCS_PATH } from './openapi.js';
export { BODY_LIMIT, type BuildServerOptions, buildServer } from './server.js';
