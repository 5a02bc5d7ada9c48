# Key Vault for the app's secrets, created only when there is one: AUTH_JWT_SECRET, API_KEY
# (from the variables of the same names) and, with redis_auth = "key", the Redis URL with its
# access key. The app gets each as a Key Vault reference (@Microsoft.KeyVault(SecretUri=...)),
# resolved by App Service with the app's user-assigned identity: the value never appears in
# the site's configuration, the portal or `az webapp config appsettings list`. Terraform state
# still holds it, as it holds every secret it writes: keep the state private.

locals {
  # Names only (non-sensitive), so they can drive for_each; values are looked up by name.
  secret_names = toset(concat(
    nonsensitive(var.auth_jwt_secret != "") ? ["AUTH_JWT_SECRET"] : [],
    nonsensitive(var.api_key != "") ? ["API_KEY"] : [],
  ))
  secret_values     = { AUTH_JWT_SECRET = var.auth_jwt_secret, API_KEY = var.api_key }
  key_vault_enabled = length(local.secret_names) > 0 || local.redis_key_in_vault

  secret_settings = { for name in local.secret_names : name => "@Microsoft.KeyVault(SecretUri=${azurerm_key_vault_secret.app[name].versionless_id})" }
}

resource "azurerm_key_vault" "main" {
  count = local.key_vault_enabled ? 1 : 0

  name                = "kv-${local.resource_token}"
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  tenant_id           = data.azurerm_client_config.current.tenant_id
  sku_name            = "standard"
  # Azure RBAC, not access policies: the grants below are ordinary role assignments.
  rbac_authorization_enabled = true
  soft_delete_retention_days = 7
  # Off so that `azd down` can purge the vault (provider.tf); turn on for production data.
  purge_protection_enabled = false
  tags                     = local.tags
}

# Whoever runs Terraform (azd's signed-in user, the CI identity) writes the secrets.
resource "azurerm_role_assignment" "deployer_key_vault_secrets" {
  count                = local.key_vault_enabled ? 1 : 0
  scope                = azurerm_key_vault.main[0].id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}

# The app reads them (App Service resolves the references with this identity).
resource "azurerm_role_assignment" "app_key_vault_secrets" {
  count                = local.key_vault_enabled ? 1 : 0
  scope                = azurerm_key_vault.main[0].id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_user_assigned_identity.app.principal_id
  principal_type       = "ServicePrincipal"
}

# Azure RBAC grants take effect after a delay (often a minute or two): writing the secrets
# right after the grant fails with 403 ForbiddenByRbac on many first applies
# (terraform-provider-azurerm #23927). Wait a bounded time once, when the grant is created
# (the wait re-runs only if a grant is replaced), instead of retrying by hand. The web app
# waits for it too, so its first start resolves the Key Vault references with its own grant.
resource "time_sleep" "key_vault_rbac" {
  count           = local.key_vault_enabled ? 1 : 0
  create_duration = var.key_vault_rbac_wait
  triggers = {
    deployer = azurerm_role_assignment.deployer_key_vault_secrets[0].id
    app      = azurerm_role_assignment.app_key_vault_secrets[0].id
  }
}

resource "azurerm_key_vault_secret" "app" {
  for_each = local.secret_names

  # Key Vault names allow letters, digits and dashes: AUTH_JWT_SECRET -> auth-jwt-secret.
  name         = lower(replace(each.key, "_", "-"))
  value        = local.secret_values[each.key]
  key_vault_id = azurerm_key_vault.main[0].id
  content_type = "text/plain"
  tags         = local.tags

  depends_on = [time_sleep.key_vault_rbac]
}
