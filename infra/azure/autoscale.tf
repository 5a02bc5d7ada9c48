# Optional autoscale (autoscale_enabled; Standard S1 and up). Between instance_count and
# autoscale_max_instances instances, on two signals:
#   - CPU of the plan (the platform's view of saturation);
#   - open WebSockets per instance: the service's own ws_connections_open gauge, which the
#     telemetry module sends to Application Insights (there is no platform metric for open
#     WebSockets on Linux web apps). Only with autoscale_on_connections, a second step:
#     Azure checks that a custom metric exists when a rule on it is created, and on the first
#     `azd up` no container of ours has reported it yet (the site runs the placeholder image
#     until the first deploy), so a rule on it could refuse the whole setting. Turn it on once
#     the metric shows in Application Insights (docs/azure.md "Autoscale").
# Per instance means the busiest one: the rules take the maximum ("Max") that any container
# reported in each minute, not the average. An idle container reporting into the same
# Application Insights (the staging slot between deploys) would halve an average and delay
# scale-out to about twice the intended load; it cannot lower a maximum. With ARR affinity
# off, sockets spread evenly, so the busiest instance is close to the mean under real load.
# Out fast (5 min cool-down), in slowly (15 min): every scale-in drains one instance's sockets
# (1001, then a reconnect elsewhere), so it should not flap. The plan's worker_count is left
# to this setting while it exists (main.tf).

locals {
  cpu_rules = {
    cpu_high = { metric = "CpuPercentage", namespace = "Microsoft.Web/serverfarms", resource = azurerm_service_plan.main.id, statistic = "Average", aggregation = "Average", operator = "GreaterThan", threshold = 70, direction = "Increase", cooldown = "PT5M" }
    cpu_low  = { metric = "CpuPercentage", namespace = "Microsoft.Web/serverfarms", resource = azurerm_service_plan.main.id, statistic = "Average", aggregation = "Average", operator = "LessThan", threshold = 25, direction = "Decrease", cooldown = "PT15M" }
  }
  connection_rules = {
    connections_high = { metric = "ws_connections_open", namespace = "azure.applicationinsights", resource = azurerm_application_insights.main.id, statistic = "Max", aggregation = "Maximum", operator = "GreaterThan", threshold = var.autoscale_connections_per_instance, direction = "Increase", cooldown = "PT5M" }
    connections_low  = { metric = "ws_connections_open", namespace = "azure.applicationinsights", resource = azurerm_application_insights.main.id, statistic = "Max", aggregation = "Maximum", operator = "LessThan", threshold = floor(var.autoscale_connections_per_instance / 3), direction = "Decrease", cooldown = "PT15M" }
  }
  autoscale_rules = merge(local.cpu_rules, var.autoscale_on_connections ? local.connection_rules : {})
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
          statistic          = rule.value.statistic
          time_window        = "PT5M"
          time_aggregation   = rule.value.aggregation
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
