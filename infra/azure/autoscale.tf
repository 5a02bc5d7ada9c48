# Optional autoscale (autoscale_enabled; Standard S1 and up). Between instance_count and
# autoscale_max_instances instances, on two signals:
#   - CPU of the plan (the platform's view of saturation);
#   - open WebSockets per instance: the service's own ws_connections_open gauge, which the
#     telemetry module sends to Application Insights (there is no platform metric for open
#     WebSockets on Linux web apps).
# Out fast (5 min cool-down), in slowly (15 min): every scale-in drains one instance's sockets
# (1001, then a reconnect elsewhere), so it should not flap. The plan's worker_count is left
# to this setting while it exists (main.tf).

locals {
  autoscale_rules = {
    cpu_high         = { metric = "CpuPercentage", namespace = "Microsoft.Web/serverfarms", resource = azurerm_service_plan.main.id, operator = "GreaterThan", threshold = 70, direction = "Increase", cooldown = "PT5M" }
    cpu_low          = { metric = "CpuPercentage", namespace = "Microsoft.Web/serverfarms", resource = azurerm_service_plan.main.id, operator = "LessThan", threshold = 25, direction = "Decrease", cooldown = "PT15M" }
    connections_high = { metric = "ws_connections_open", namespace = "azure.applicationinsights", resource = azurerm_application_insights.main.id, operator = "GreaterThan", threshold = var.autoscale_connections_per_instance, direction = "Increase", cooldown = "PT5M" }
    connections_low  = { metric = "ws_connections_open", namespace = "azure.applicationinsights", resource = azurerm_application_insights.main.id, operator = "LessThan", threshold = floor(var.autoscale_connections_per_instance / 3), direction = "Decrease", cooldown = "PT15M" }
  }
}

resource "azurerm_monitor_autoscale_setting" "app" {
  count = var.autoscale_enabled ? 1 : 0

  name                = "autoscale-${local.resource_token}"
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  target_resource_id  = azurerm_service_plan.main.id
  tags                = local.tags

  profile {
    name = "default"

    capacity {
      default = var.instance_count
      minimum = var.instance_count
      maximum = var.autoscale_max_instances
    }

    dynamic "rule" {
      for_each = local.autoscale_rules
      content {
        metric_trigger {
          metric_name        = rule.value.metric
          metric_namespace   = rule.value.namespace
          metric_resource_id = rule.value.resource
          time_grain         = "PT1M"
          statistic          = "Average"
          time_window        = "PT5M"
          time_aggregation   = "Average"
          operator           = rule.value.operator
          threshold          = rule.value.threshold
        }
        scale_action {
          direction = rule.value.direction
          type      = "ChangeCount"
          value     = "1"
          cooldown  = rule.value.cooldown
        }
      }
    }
  }
}
