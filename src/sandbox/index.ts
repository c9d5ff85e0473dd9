/**
 * The upstream sandbox: vv-tool and damaijia on one port, for tests, benchmarks, the demo and users
 * without real tokens. Imports nothing from src/upstreams or src/outcomes (see codes.ts).
 */
export type { SandboxControl } from './client.js';
export { sandboxControl } from './client.js';
export { SandboxInputError } from './input.js';
export { startSandbox } from './sandbox.js';
export type {
  AccountReport,
  CallFilter,
  CallRecord,
  FaultKind,
  FaultSettings,
  Sandbox,
  SandboxAccount,
  SandboxOperation,
  SandboxOptions,
  SandboxProvider,
  SandboxReport,
  ScriptedAnswer,
} from './types.js';
export { maxInSlidingWindow } from './window.js';
