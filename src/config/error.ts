export type Env = Readonly<Record<string, string | undefined>>;

/** A bad setting: names the variable, the value (or, for a secret, only its length) and what is allowed. */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, value: string, allowed: string) {
    super(`Invalid ${variable}=${JSON.stringify(value)}: expected ${allowed}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}
