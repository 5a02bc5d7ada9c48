import { ConfigError } from './error.ts';

/**
 * App Service passes a Key Vault reference it could not resolve (no access, wrong name, a
 * grant not yet in effect) as its literal text. Taken as a secret, that text would be public
 * knowledge; taken as a URL, it fails a generic format check that does not say why. Refuse it
 * by name, with the cause, wherever a setting can be a Key Vault reference.
 */
export function refuseUnresolvedKeyVaultReference(name: string, value: string | undefined): void {
  if (value?.startsWith('@Microsoft.KeyVault(')) {
    // The reference names only the vault and secret, never the value: safe to show.
    throw new ConfigError(name, value, 'a resolved secret: App Service could not resolve this Key Vault reference (check the app identity has "Key Vault Secrets User" and the secret exists)');
  }
}
