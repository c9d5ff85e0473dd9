import type { FaultKind, FaultSettings, SandboxProvider, ScriptedAnswer } from './types.js';

/** A bad argument to the sandbox's own API (in process or over /_sandbox/): answered 400 over HTTP. */
export class SandboxInputError extends Error {
  override readonly name = 'SandboxInputError';
}

export const FAULT_KINDS: readonly FaultKind[] = [
  'http500',
  'http502',
  'http504',
  'http429',
  'reset',
  'stall',
  'garbage',
];
export const PROVIDERS: readonly SandboxProvider[] = ['vvtool', 'damaijia'];

/**
 * These can happen after processing: no answer at all, or an answer that cannot say what the call
 * cost (a server error, a proxy's 502 or 504, a body that is not JSON). A 429 refuses before anything.
 */
export const AFTER_KINDS: readonly FaultKind[] = [
  'reset',
  'stall',
  'http500',
  'http502',
  'http504',
  'garbage',
];

export function checkProvider(value: unknown): SandboxProvider {
  if (!PROVIDERS.includes(value as SandboxProvider)) {
    throw new SandboxInputError(`provider must be one of ${PROVIDERS.join(', ')}`);
  }
  return value as SandboxProvider;
}

export function checkOrderKey(value: unknown): string {
  if (typeof value !== 'string' || value === '')
    throw new SandboxInputError('orderKey must be a non-empty string');
  return value;
}

export function checkAnswers(value: unknown): ScriptedAnswer[] {
  if (!Array.isArray(value)) throw new SandboxInputError('answers must be an array');
  return value.map((item: unknown, index) => checkAnswer(item, `answers[${index}]`));
}

function checkAnswer(value: unknown, at: string): ScriptedAnswer {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SandboxInputError(`${at} must be an object`);
  }
  const item = value as Record<string, unknown>;
  if ('fault' in item) {
    const fault = checkFaultKind(item['fault'], `${at}.fault`);
    const when = item['when'] ?? 'before';
    if (when !== 'before' && when !== 'after')
      throw new SandboxInputError(`${at}.when must be before or after`);
    if (when === 'after' && !AFTER_KINDS.includes(fault)) {
      throw new SandboxInputError(`${at}: only ${AFTER_KINDS.join(', ')} can come after processing`);
    }
    return { fault, when };
  }
  if ('pass' in item) {
    if (item['pass'] !== true) throw new SandboxInputError(`${at}.pass must be true`);
    return { pass: true };
  }
  const { code, msg, err, charge } = item;
  if (typeof code !== 'number' || !Number.isSafeInteger(code)) {
    throw new SandboxInputError(`${at} needs an integer code, a fault or pass: true`);
  }
  if (msg !== undefined && typeof msg !== 'string') throw new SandboxInputError(`${at}.msg must be a string`);
  if (err !== undefined && typeof err !== 'string') throw new SandboxInputError(`${at}.err must be a string`);
  if (charge !== undefined && !isAmount(charge)) {
    throw new SandboxInputError(`${at}.charge must be a non-negative number`);
  }
  const answer: { code: number; msg?: string; err?: string; charge?: number } = { code };
  if (msg !== undefined) answer.msg = msg;
  if (err !== undefined) answer.err = err;
  if (charge !== undefined) answer.charge = charge as number;
  return answer;
}

function checkFaultKind(value: unknown, at: string): FaultKind {
  if (!FAULT_KINDS.includes(value as FaultKind)) {
    throw new SandboxInputError(`${at} must be one of ${FAULT_KINDS.join(', ')}`);
  }
  return value as FaultKind;
}

export function checkFaults(value: unknown): FaultSettings | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object' || Array.isArray(value))
    throw new SandboxInputError('faults must be an object or null');
  const { rate, kinds, seed, when } = value as Record<string, unknown>;
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) {
    throw new SandboxInputError('faults.rate must be a number from 0 to 1');
  }
  if (!Array.isArray(kinds) || kinds.length === 0)
    throw new SandboxInputError('faults.kinds must be a non-empty array');
  const settings: FaultSettings = {
    rate,
    kinds: kinds.map((kind: unknown, index) => checkFaultKind(kind, `faults.kinds[${index}]`)),
  };
  if (seed !== undefined) {
    if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
      throw new SandboxInputError('faults.seed must be an integer');
    }
    settings.seed = seed;
  }
  if (when !== undefined) {
    if (when !== 'before' && when !== 'after' && when !== 'random') {
      throw new SandboxInputError('faults.when must be before, after or random');
    }
    settings.when = when;
  }
  return settings;
}

export function isAmount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}
