# Optional staging slot (Standard S1 and up; staging_slot_enabled). Zero-downtime deploys:
#   1. azd deploys the new image to this slot: azd 1.24+ deploys to one named target, and the
#      postprovision hook (hooks/select-slot.sh) sets AZD_DEPLOY_APP_SLOT_NAME=staging while
#      this slot exists (docs/azure.md "Deploys without dropping sockets").
#   2. The slot starts and gets traffic only once /readyz answers 200 (WEBSITE_WARMUP_*).
#   3. The workflow smoke-tests the slot's own URL, then swaps: App Service warms the slot
#      up with production's settings (identical here: one local.app_settings for both, so a
#      swap moves only the image), checks /readyz (WEBSITE_SWAP_WARMUP_*), then switches the
#      routing. Production's old containers get SIGTERM and drain their sockets with 1001;
#      clients reconnect to the new version and replay what they missed with `since`.
# The slot is the site's twin: same plan, identity, registry pull, WebSockets, health check
# and settings; test/infra/ runs the same policy checks on both.
#
# Terraform does not swap (no azurerm_web_app_active_slot): a swap is a release step, run by
# the workflow after the smoke check, and a Terraform-owned active slot would fight it.

resource "azurerm_linux_web_app_slot" "staging" {
  count = var.staging_slot_enabled ? 1 : 0

  name           = "staging"
  app_service_id = azurerm_linux_web_app.app.id
  tags           = local.tags

  https_only                                     = true
  client_affinity_enabled                        = false
  ftp_publish_basic_authentication_enabled       = false
  webdeploy_publish_basic_authentication_enabled = false
  key_vault_reference_identity_id                = azurerm_user_assigned_identity.app.id

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.app.id]
  }

  site_config {
    websockets_enabled                = true
    always_on                         = true
    http2_enabled                     = true
    health_check_path                 = "/healthz"
    health_check_eviction_time_in_min = 2
    minimum_tls_version               = "1.2"
    scm_minimum_tls_version           = "1.2"
    ftps_state                        = "Disabled"

    container_registry_use_managed_identity       = true
    container_registry_managed_identity_client_id = azurerm_user_assigned_identity.app.client_id

    application_stack {
      docker_image_name   = var.app_image
      docker_registry_url = "https://${azurerm_container_registry.main.login_server}"
    }
  }

  app_settings = local.app_settings

  lifecycle {
    # azd deploys the image here; a later `terraform apply` must not roll it back.
    ignore_changes = [
      site_config[0].application_stack[0].docker_image_name,
    ]
  }
}
