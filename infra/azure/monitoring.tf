# Logs, metrics, availability tests and alerts in Azure Monitor.
#
# Two paths into the one Log Analytics workspace:
#   - App Service's diagnostic setting: container stdout (pino JSON), front-end HTTP log,
#     platform events (AppServiceConsoleLogs, AppServiceHTTPLogs, AppServicePlatformLogs);
#   - Application Insights (workspace-based): the app's own telemetry through the Azure
#     Monitor OpenTelemetry distro (src/telemetry/, on when APPLICATIONINSIGHTS_CONNECTION_STRING
#     is set): requests, Redis dependencies, exceptions, logs and the service's metrics
#     (AppRequests, AppDependencies, AppExceptions, AppTraces, AppMetrics), plus the
#     availability tests below (AppAvailabilityResults). docs/azure.md has the KQL.

resource "azurerm_log_analytics_workspace" "main" {
  name                = "log-${local.resource_token}"
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  sku                 = "PerGB2018"
  retention_in_days   = var.log_retention_days
  tags                = local.tags
}

resource "azurerm_application_insights" "main" {
  name                = "appi-${local.resource_token}"
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  workspace_id        = azurerm_log_analytics_workspace.main.id
  application_type    = "Node.JS"
  tags                = local.tags
}

# Availability from outside: a standard test per route from several regions, every 15 minutes
# by default (availability_test_frequency; each run is billed, docs/azure.md "Costs"), through
# the public front end and TLS (certificate checked, and reported 7 days before it expires).
# /healthz says the process is alive; /readyz that it can serve (broker up, not draining).
# The alert fires when 2 or more locations fail a test.
#
# `enabled` must be written: the provider has no default for it and sends it as given, so a
# test without it is created disabled, never runs, and its alert can never fire
# (application_insights_standard_web_test_resource.go, azurerm v4.81.0).
resource "azurerm_application_insights_standard_web_test" "route" {
  for_each = toset(["/healthz", "/readyz"])

  name                    = "webtest-${trimprefix(each.key, "/")}-${local.resource_token}"
  resource_group_name     = azurerm_resource_group.main.name
  location                = azurerm_resource_group.main.location
  application_insights_id = azurerm_application_insights.main.id
  description             = "GET ${each.key} answers 200 from outside Azure's network edge."
  enabled                 = true
  frequency               = var.availability_test_frequency
  timeout                 = 30
  retry_enabled           = true
  geo_locations           = var.availability_test_locations
  tags                    = local.tags

  request {
    url       = "${local.app_origin}${each.key}"
    http_verb = "GET"
  }

  validation_rules {
    expected_status_code        = 200
    ssl_check_enabled           = true
    ssl_cert_remaining_lifetime = 7
  }
}

resource "azurerm_monitor_metric_alert" "availability" {
  for_each = azurerm_application_insights_standard_web_test.route

  name                = "alert-availability-${trimprefix(each.key, "/")}-${local.resource_token}"
  resource_group_name = azurerm_resource_group.main.name
  scopes              = [each.value.id, azurerm_application_insights.main.id]
  description         = "GET ${each.key} fails from 2 or more test locations."
  severity            = 1
  tags                = local.tags

  application_insights_web_test_location_availability_criteria {
    web_test_id           = each.value.id
    component_id          = azurerm_application_insights.main.id
    failed_location_count = 2
  }

  action {
    action_group_id = azurerm_monitor_action_group.main.id
  }
}

# Reconnect storm: far more sockets opened than usual within 5 minutes (an instance lost, a
# deploy without a slot, a client stuck in a retry loop). Counts the service's own
# ws_connections_opened_total, which the telemetry module sends as a metric.
resource "azurerm_monitor_scheduled_query_rules_alert_v2" "reconnect_storm" {
  count = var.reconnect_storm_threshold > 0 ? 1 : 0

  name                 = "alert-reconnects-${local.resource_token}"
  resource_group_name  = azurerm_resource_group.main.name
  location             = azurerm_resource_group.main.location
  scopes               = [azurerm_application_insights.main.id]
  description          = "More than ${var.reconnect_storm_threshold} WebSockets opened in 5 minutes."
  severity             = 2
  evaluation_frequency = "PT5M"
  window_duration      = "PT5M"
  tags                 = local.tags

  criteria {
    query                   = <<-KQL
      customMetrics
      | where name == "ws_connections_opened_total"
      | summarize opened = sum(valueSum)
    KQL
    time_aggregation_method = "Total"
    metric_measure_column   = "opened"
    operator                = "GreaterThan"
    threshold               = var.reconnect_storm_threshold
  }

  action {
    action_groups = [azurerm_monitor_action_group.main.id]
  }
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
