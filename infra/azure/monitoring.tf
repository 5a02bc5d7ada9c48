# Logs, metrics and alerts in Azure Monitor.
#
# Application Insights is deliberately left out: the service ships no Application
# Insights SDK, and App Service auto-instrumentation does not apply to custom
# containers, so a component would receive no telemetry. Everything the app
# writes (pino JSON on stdout) reaches Log Analytics through the diagnostic
# setting below; docs/azure.md has the KQL that parses it.

resource "azurerm_log_analytics_workspace" "main" {
  name                = "log-${local.resource_token}"
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  sku                 = "PerGB2018"
  retention_in_days   = var.log_retention_days
  tags                = local.tags
}

resource "azurerm_monitor_diagnostic_setting" "app" {
  name                       = "diag-${local.app_name}"
  target_resource_id         = azurerm_linux_web_app.app.id
  log_analytics_workspace_id = azurerm_log_analytics_workspace.main.id
  # Resource-specific tables (AppServiceConsoleLogs, AppServiceHTTPLogs, ...)
  # instead of the legacy AzureDiagnostics table.
  log_analytics_destination_type = "Dedicated"

  # The container's stdout/stderr: one pino JSON line per record.
  enabled_log {
    category = "AppServiceConsoleLogs"
  }

  # Front-end access log: every request, including the /ws upgrade (status 101).
  enabled_log {
    category = "AppServiceHTTPLogs"
  }

  # Container lifecycle: image pulls, starts, health-check evictions.
  enabled_log {
    category = "AppServicePlatformLogs"
  }

  enabled_metric {
    category = "AllMetrics"
  }
}

resource "azurerm_monitor_action_group" "main" {
  name                = "ag-${local.resource_token}"
  resource_group_name = azurerm_resource_group.main.name
  short_name          = "socketship"
  tags                = local.tags

  dynamic "email_receiver" {
    for_each = var.alert_email == "" ? [] : [var.alert_email]
    content {
      name                    = "operator"
      email_address           = email_receiver.value
      use_common_alert_schema = true
    }
  }
}

# Health check status is the percentage of instances answering /healthz with 2xx.
# Below 100 means at least one instance is failing and is being (or will be)
# taken out of rotation.
resource "azurerm_monitor_metric_alert" "health" {
  name                = "alert-health-${local.resource_token}"
  resource_group_name = azurerm_resource_group.main.name
  scopes              = [azurerm_linux_web_app.app.id]
  description         = "An instance fails the /healthz health check."
  severity            = 1
  frequency           = "PT1M"
  window_size         = "PT5M"
  tags                = local.tags

  criteria {
    metric_namespace = "Microsoft.Web/sites"
    metric_name      = "HealthCheckStatus"
    aggregation      = "Average"
    operator         = "LessThan"
    threshold        = 100
  }

  action {
    action_group_id = azurerm_monitor_action_group.main.id
  }
}

resource "azurerm_monitor_metric_alert" "http_5xx" {
  name                = "alert-http5xx-${local.resource_token}"
  resource_group_name = azurerm_resource_group.main.name
  scopes              = [azurerm_linux_web_app.app.id]
  description         = "The app answers with server errors (HTTP 5xx)."
  severity            = 2
  frequency           = "PT1M"
  window_size         = "PT5M"
  tags                = local.tags

  criteria {
    metric_namespace = "Microsoft.Web/sites"
    metric_name      = "Http5xx"
    aggregation      = "Total"
    operator         = "GreaterThan"
    threshold        = 5
  }

  action {
    action_group_id = azurerm_monitor_action_group.main.id
  }
}

# There is no Azure Monitor metric for open WebSockets on Linux web apps (the
# "Connections" / AppConnections metric is Windows-only), so the near-the-limit
# alert is not possible as a metric alert. The service refuses connections above
# MAX_CONNECTIONS (350 on Basic) and exports its own gauge on /metrics; the plan's
# CPU is the platform signal that the instances are saturated.
resource "azurerm_monitor_metric_alert" "plan_cpu" {
  name                = "alert-cpu-${local.resource_token}"
  resource_group_name = azurerm_resource_group.main.name
  scopes              = [azurerm_service_plan.main.id]
  description         = "The App Service plan's CPU stays above 80%: scale up or out."
  severity            = 2
  frequency           = "PT5M"
  window_size         = "PT15M"
  tags                = local.tags

  criteria {
    metric_namespace = "Microsoft.Web/serverfarms"
    metric_name      = "CpuPercentage"
    aggregation      = "Average"
    operator         = "GreaterThan"
    threshold        = 80
  }

  action {
    action_group_id = azurerm_monitor_action_group.main.id
  }
}
