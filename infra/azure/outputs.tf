# Outputs. azd stores each one in the environment (.azure/<env>/.env) under the same
# name: AZURE_CONTAINER_REGISTRY_ENDPOINT tells `azd deploy` where to push the image,
# AZURE_RESOURCE_GROUP where to look for the azd-service-name tag. Plain Terraform
# users read them with `terraform output -raw NAME`.

output "AZURE_LOCATION" {
  value = azurerm_resource_group.main.location
}

output "AZURE_TENANT_ID" {
  value = data.azurerm_client_config.current.tenant_id
}

output "AZURE_RESOURCE_GROUP" {
  value = azurerm_resource_group.main.name
}

output "AZURE_CONTAINER_REGISTRY_ENDPOINT" {
  value = azurerm_container_registry.main.login_server
}

output "AZURE_CONTAINER_REGISTRY_NAME" {
  value = azurerm_container_registry.main.name
}

output "AZURE_LOG_ANALYTICS_WORKSPACE_NAME" {
  value = azurerm_log_analytics_workspace.main.name
}

output "AZURE_LOG_ANALYTICS_WORKSPACE_ID" {
  # The workspace (customer) GUID that `az monitor log-analytics query -w` takes.
  value = azurerm_log_analytics_workspace.main.workspace_id
}

output "SERVICE_APP_NAME" {
  value = azurerm_linux_web_app.app.name
}

output "SERVICE_APP_URI" {
  value = "https://${azurerm_linux_web_app.app.default_hostname}"
}

output "APP_URL" {
  value = "https://${azurerm_linux_web_app.app.default_hostname}"
}

output "APP_WSS_URL" {
  value = "wss://${azurerm_linux_web_app.app.default_hostname}/ws"
}

output "AZURE_APPLICATION_INSIGHTS_NAME" {
  value = azurerm_application_insights.main.name
}

output "STAGING_URL" {
  # Empty without the staging slot. The workflow smoke-tests it before the swap.
  value = var.staging_slot_enabled ? "https://${azurerm_linux_web_app_slot.staging[0].default_hostname}" : ""
}

output "CUSTOM_DOMAIN_VERIFICATION_ID" {
  # The asuid TXT record value for custom_domain (not a secret, but the provider marks it so).
  value     = azurerm_linux_web_app.app.custom_domain_verification_id
  sensitive = true
}
