# Optional Azure Cache for Redis: the broker that lets several instances share chat rooms,
# history and presence (docs/scaling.md). Created when the plan runs more than one instance
# (var.instance_count > 1) or when var.redis_enabled is true; otherwise nothing here exists and
# the app keeps its rooms in process, as with one instance.
#
# TLS only (port 6380, TLS 1.2+), the non-TLS port closed. The app reaches it with the access
# key inside REDIS_URL, an app setting: Terraform state holds it (as it holds the key itself),
# but no output shows it.

variable "redis_enabled" {
  description = "Create an Azure Cache for Redis and point the app at it (REDIS_URL) even with one instance. It is created anyway when instance_count > 1."
  type        = bool
  default     = false
}

variable "redis_sku_name" {
  description = "Azure Cache for Redis tier: Basic (no replica, no SLA), Standard (primary + replica) or Premium."
  type        = string
  default     = "Standard"

  validation {
    condition     = contains(["Basic", "Standard", "Premium"], var.redis_sku_name)
    error_message = "redis_sku_name must be Basic, Standard or Premium."
  }
}

variable "redis_capacity" {
  description = "Cache size within the tier: 0-6 for Basic/Standard (C0 = 250 MB ... C6 = 53 GB), 1-5 for Premium."
  type        = number
  default     = 1
}

locals {
  redis_enabled = var.redis_enabled || var.instance_count > 1

  # rediss:// (TLS) with the access key as password; empty without the cache, which the app reads
  # as "no Redis". Sensitive, so plans and outputs never print it.
  redis_url = local.redis_enabled ? sensitive("rediss://:${urlencode(azurerm_redis_cache.main[0].primary_access_key)}@${azurerm_redis_cache.main[0].hostname}:${azurerm_redis_cache.main[0].ssl_port}") : ""
}

resource "azurerm_redis_cache" "main" {
  count = local.redis_enabled ? 1 : 0

  name                = "redis-${local.resource_token}"
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  sku_name            = var.redis_sku_name
  family              = var.redis_sku_name == "Premium" ? "P" : "C"
  capacity            = var.redis_capacity

  minimum_tls_version  = "1.2"
  non_ssl_port_enabled = false

  redis_configuration {
    # Stream entries must never be evicted to make room: a full cache refuses writes instead,
    # and the app tells the sender (1013) rather than losing an acknowledged message.
    maxmemory_policy = "noeviction"
  }

  tags = local.tags
}
