# Optional custom domain (custom_domain) with a free App Service managed certificate, renewed
# by App Service. Before `terraform apply` / `azd provision`, create at your DNS provider:
#   CNAME  <custom_domain>         -> <app name>.azurewebsites.net      (output SERVICE_APP_NAME)
#   TXT    asuid.<custom_domain>   =  output CUSTOM_DOMAIN_VERIFICATION_ID
# The domain is added to ALLOWED_ORIGINS and ALLOWED_HOSTS (app-settings.tf).

resource "azurerm_app_service_custom_hostname_binding" "custom" {
  count = var.custom_domain == "" ? 0 : 1

  hostname            = var.custom_domain
  app_service_name    = azurerm_linux_web_app.app.name
  resource_group_name = azurerm_resource_group.main.name

  lifecycle {
    # Set by the certificate binding below.
    ignore_changes = [ssl_state, thumbprint]
  }
}

resource "azurerm_app_service_managed_certificate" "custom" {
  count = var.custom_domain == "" ? 0 : 1

  custom_hostname_binding_id = azurerm_app_service_custom_hostname_binding.custom[0].id
  tags                       = local.tags
}

resource "azurerm_app_service_certificate_binding" "custom" {
  count = var.custom_domain == "" ? 0 : 1

  hostname_binding_id = azurerm_app_service_custom_hostname_binding.custom[0].id
  certificate_id      = azurerm_app_service_managed_certificate.custom[0].id
  ssl_state           = "SniEnabled"
}
