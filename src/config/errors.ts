/**
 * A setting that is missing or malformed. Its message is the one line printed at start-up: it names
 * the setting and what is wrong, and never echoes a secret's value.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly setting: string;

  constructor(setting: string, problem: string) {
    super(`${setting}: ${problem}`);
    this.setting = setting;
  }
}
