# Socketship on Azure App Service (Linux, Web App for Containers).
#
# Resource names follow the azd templates: an abbreviation plus a resource token
# derived from subscription, environment and region, so the same inputs always give
# the same names and two environments never collide. Every resource carries the
# azd-env-name tag; the web app also carries azd-service-name = app, which is how
# `azd deploy` finds where to send the `app` service of azure.yaml.

locals {
  tags           = { azd-env-name = var.environment_name }
  resource_token = substr(sha256("${var.subscription_id}/${var.environment_name}/${var.location}"), 0, 13)

  app_name   = "app-${local.resource_token}"
  app_host   = "${local.app_name}.azurewebsites.net"
  app_origin = "https://${local.app_host}"

  # Basic (B1-B3) caps concurrent WebSockets at 350 per instance; Standard and up
  # have no per-instance cap, so the app's own default applies.
  plan_is_basic   = startswith(upper(var.app_service_plan_sku), "B")
  max_connections = var.max_connections > 0 ? var.max_connections : (local.plan_is_basic ? 350 : 10000)
}

resource "azurerm_resource_group" "main" {
  name     = "rg-${var.environment_name}"
  location = var.location
  tags     = local.tags
}

# ---------------------------------------------------------------------------
# Registry and the identity the web app pulls with
# ---------------------------------------------------------------------------

resource "azurerm_container_registry" "main" {
  name                = "cr${local.resource_token}"
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  sku                 = "Basic"
  # No shared admin password: the web app pulls with its managed identity and
  # deployers push with their Entra ID login (azd, az acr login).
  admin_enabled = false
  tags          = local.tags
}

# A user-assigned identity (not the app's system identity) so that the AcrPull
# grant exists before the web app is created and its first pull succeeds.
resource "azurerm_user_assigned_identity" "app" {
  name                = "id-app-${local.resource_token}"
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  tags                = local.tags
}

resource "azurerm_role_assignment" "app_acr_pull" {
  scope                = azurerm_container_registry.main.id
  role_definition_name = "AcrPull"
  principal_id         = azurerm_user_assigned_identity.app.principal_id
  # Skips the Entra ID lookup that fails while a brand-new identity replicates.
  principal_type = "ServicePrincipal"
}

# ---------------------------------------------------------------------------
# App Service plan and web app
# ---------------------------------------------------------------------------

resource "azurerm_service_plan" "main" {
  name                = "plan-${local.resource_token}"
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  os_type             = "Linux"
  sku_name            = var.app_service_plan_sku
  # With autoscale, the autoscale setting owns the instance count: null leaves this
  # Optional+Computed argument to it (no ignore_changes needed, and turning autoscale off
  # hands the count back to instance_count).
  worker_count = var.autoscale_enabled ? null : var.instance_count
  tags         = local.tags
}

resource "azurerm_linux_web_app" "app" {
  name                = local.app_name
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  service_plan_id     = azurerm_service_plan.main.id
  tags                = merge(local.tags, { azd-service-name = "app" })

  https_only = true
  # WebSocket clients must not be pinned by an ARRAffinity cookie: a reconnect may
  # land on any healthy instance, and with Redis (always there when there can be more
  # than one instance) every instance serves every room.
  client_affinity_enabled = false
  # No FTP / Web Deploy passwords: images arrive through the registry only.
  ftp_publish_basic_authentication_enabled       = false
  webdeploy_publish_basic_authentication_enabled = false

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.app.id]
  }

  site_config {
    # Off by default, and the portal no longer shows the toggle for Linux apps.
    websockets_enabled = true
    always_on          = true
    http2_enabled      = true
    # The app's liveness route. App Service pings it on every instance once a
    # minute and takes an instance out of the load balancer after it has failed
    # for this many minutes (2 is the minimum), replacing it if it stays sick.
    health_check_path                 = "/healthz"
    health_check_eviction_time_in_min = 2
    minimum_tls_version               = "1.2"
    scm_minimum_tls_version           = "1.2"
    ftps_state                        = "Disabled"

    # Pull from ACR with the user-assigned identity above (no registry password).
    container_registry_use_managed_identity       = true
    container_registry_managed_identity_client_id = azurerm_user_assigned_identity.app.client_id

    application_stack {
      # Until the first deploy this names an image that is not pushed yet, so
      # the site does not start; `azd deploy` (or the documented push + restart)
      # puts the real image in place. It gives azd the DOCKER| site it requires.
      docker_image_name   = var.app_image
      docker_registry_url = "https://${azurerm_container_registry.main.login_server}"
    }
  }

  # One set of settings for the site and its staging slot (app-settings.tf): a swap moves
  # nothing but the image, and both pass the same policy tests.
  app_settings = local.app_settings
  # Key Vault references (AUTH_JWT_SECRET, API_KEY, a key-mode REDIS_URL) resolve with the
  # user-assigned identity, which holds "Key Vault Secrets User" (secrets.tf).
  key_vault_reference_identity_id = azurerm_user_assigned_identity.app.id

  logs {
    detailed_error_messages = false
    failed_request_tracing  = false
    # Container stdout/stderr to the file system, which the Log stream blade and
    # `az webapp log tail` read. Log Analytics gets them via the diagnostic setting.
    http_logs {
      file_system {
        retention_in_days = 3
        retention_in_mb   = 35
      }
    }
  }

  lifecycle {
    # azd deploy (and the manual push path) point the site at a new image tag;
    # a later `terraform apply` must not roll that back to var.app_image.
    ignore_changes = [
      site_config[0].application_stack[0].docker_image_name,
    ]
  }

  # AcrPull before the first pull; the Key Vault grant before the first start, or the
  # references would not resolve.
  depends_on = [azurerm_role_assignment.app_acr_pull, azurerm_role_assignment.app_key_vault_secrets, time_sleep.key_vault_rbac]
}

# Optional parts, each behind its own variable so the default deployment stays small:
# redis.tf (Azure Managed Redis), slot.tf (staging slot), autoscale.tf, domain.tf
# (custom domain), secrets.tf (Key Vault).
